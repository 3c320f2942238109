//! `broker_cli`: calls a running broker the way FE and BE do, for operators and scripts.
//!
//! ```text
//! broker_cli ping
//! broker_cli -P creds.properties ls -r 'hdfs://ns1/user/x/*'
//! broker_cli stat PATH          # exit 4 when PATH does not exist
//! broker_cli cat PATH | head
//! broker_cli get PATH LOCAL     broker_cli put LOCAL PATH   (LOCAL `-`: stdin)
//! broker_cli rm PATH            broker_cli mv SRC DST
//! ```
//! The address defaults to `127.0.0.1:<broker_ipc_port>` of the package's own conf
//! (`../conf/apache_hdfs_broker.conf` beside this binary's folder), else port 8000.

mod conn;
mod local;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use conn::{Broker, Failure, EXIT_STATUS};
use local::{is_std, local_error, Progress};

/// Bytes per pwrite of `put`.
const WRITE_CHUNK: usize = 1 << 20;
/// Bytes asked per pread of `cat` and `get` (the broker caps it at its
/// `hdfs_read_buffer_size_kb`, 8 MiB by default).
const READ_CHUNK: i64 = 8 << 20;

#[derive(Parser)]
#[command(
    name = "broker_cli",
    version,
    about = "Calls a running apache_hdfs_broker over Thrift, as FE and BE do",
    after_help = EXIT_STATUS
)]
struct Cli {
    /// Broker address [default: 127.0.0.1:<broker_ipc_port> of ../conf/apache_hdfs_broker.conf
    /// beside this binary's folder, else 127.0.0.1:8000]
    #[arg(long, global = true, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// A request property (credentials, HA settings ...); repeatable, wins over -P
    #[arg(short = 'p', long = "property", global = true, value_name = "KEY=VALUE",
          value_parser = local::parse_key_value)]
    properties: Vec<(String, String)>,
    /// A file of key=value lines (# comments, blank lines), so secrets stay out of the
    /// shell history; repeatable
    #[arg(
        short = 'P',
        long = "properties-file",
        global = true,
        value_name = "FILE"
    )]
    properties_files: Vec<PathBuf>,
    /// Seconds to wait for the connection and for each reply
    #[arg(long, global = true, default_value_t = 60, value_name = "SECONDS")]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks the broker answers (as the FE heartbeat does)
    Ping,
    /// Lists a path or glob: type, size, modification time, path
    Ls {
        /// Everything below directories too
        #[arg(short, long)]
        recursive: bool,
        path: String,
    },
    /// Prints one path's type, size and modification time; exit 4 if it does not exist
    Stat { path: String },
    /// Writes a file to stdout
    Cat { path: String },
    /// Copies a file from the store to LOCAL
    Get { path: String, local: PathBuf },
    /// Copies LOCAL (`-`: stdin) to the store, creating parent directories
    Put { local: PathBuf, path: String },
    /// Deletes a file, or a directory with everything below it
    Rm { path: String },
    /// Renames a file or directory
    Mv { src: String, dst: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("broker_cli: {failure}");
            failure.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let mut props = BTreeMap::new();
    for file in &cli.properties_files {
        props.extend(local::read_properties_file(file)?);
    }
    props.extend(cli.properties);
    let addr = cli.addr.unwrap_or_else(local::default_addr);
    let mut broker = Broker::connect(&addr, Duration::from_secs(cli.timeout.max(1)), props)?;
    match cli.command {
        Command::Ping => {
            broker.ping()?;
            println!("ok: broker at {addr} answered");
            Ok(())
        }
        Command::Ls { recursive, path } => {
            for file in broker.list(&path, recursive)? {
                print_entry(&file);
            }
            Ok(())
        }
        Command::Stat { path } => stat(&mut broker, &path),
        Command::Cat { path } => {
            let (fd, size) = broker.open_reader(&path)?;
            let mut out = std::io::stdout().lock();
            let stdout = PathBuf::from("stdout");
            read_all(&mut broker, fd, size, &mut out, &stdout)
        }
        Command::Get { path, local } => get(&mut broker, &path, &local),
        Command::Put { local, path } => put(&mut broker, &local, &path),
        Command::Rm { path } => broker.delete(&path),
        Command::Mv { src, dst } => broker.rename(&src, &dst),
    }
}

/// `d|-  size  modified  path`, modification time in seconds since the epoch (UTC).
fn print_entry(file: &apache_hdfs_broker::wire::generated::TBrokerFileStatus) {
    let kind = if file.is_dir { "d" } else { "-" };
    let modified = file
        .modification_time
        .map_or_else(|| "-".to_string(), |ms| (ms / 1000).to_string());
    println!("{kind} {:>14} {modified:>11} {}", file.size, file.path);
}

/// A listing of the exact path: one entry for a file or directory, none when missing.
fn stat(broker: &mut Broker, path: &str) -> Result<(), Failure> {
    let files = broker.list(path, false)?;
    if files.is_empty() {
        return Err(Failure::not_found(format!("{path} does not exist")));
    }
    // A directory lists as that one directory; a glob as every match.
    files.iter().for_each(print_entry);
    Ok(())
}

/// preads from offset 0 until the broker answers empty (end of file), then closes.
fn read_all(
    broker: &mut Broker,
    fd: apache_hdfs_broker::wire::generated::TBrokerFD,
    size: Option<i64>,
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<(), Failure> {
    let mut progress = Progress::new(size.map(|s| s.max(0) as u64));
    let mut offset = 0i64;
    loop {
        let data = broker.pread(&fd, offset, READ_CHUNK)?;
        if data.is_empty() {
            break;
        }
        offset += data.len() as i64;
        out.write_all(&data)
            .map_err(|e| local_error(out_name, "write", e))?;
        progress.advance(data.len());
    }
    out.flush().map_err(|e| local_error(out_name, "write", e))?;
    broker.close_reader(fd)
}

/// Into LOCAL; a failed copy leaves no partial file behind.
fn get(broker: &mut Broker, path: &str, local: &Path) -> Result<(), Failure> {
    let (fd, size) = broker.open_reader(path)?;
    let file = std::fs::File::create(local).map_err(|e| local_error(local, "create", e))?;
    let mut out = std::io::BufWriter::new(file);
    let copied = read_all(broker, fd, size, &mut out, local);
    drop(out);
    if copied.is_err() {
        let _ = std::fs::remove_file(local);
    }
    copied
}

/// Streams LOCAL in pwrites of [`WRITE_CHUNK`], then commits with closeWriter. On a
/// failure the writer is left open, never committed: the broker aborts it once this
/// client has been idle for `client_expire_seconds`.
fn put(broker: &mut Broker, local: &Path, path: &str) -> Result<(), Failure> {
    let (mut input, size): (Box<dyn Read>, Option<u64>) = if is_std(local) {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file = std::fs::File::open(local).map_err(|e| local_error(local, "open", e))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let fd = broker.open_writer(path)?;
    let mut progress = Progress::new(size);
    let mut offset = 0i64;
    loop {
        let chunk =
            read_chunk(&mut *input, WRITE_CHUNK).map_err(|e| local_error(local, "read", e))?;
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len();
        broker.pwrite(&fd, offset, chunk)?;
        offset += len as i64;
        progress.advance(len);
    }
    broker.close_writer(fd)
}

/// Up to `len` bytes; fewer only at the end of the input.
fn read_chunk(input: &mut dyn Read, len: usize) -> std::io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(len);
    input.take(len as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}
