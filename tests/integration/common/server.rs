//! What every storage server the tests run shares: free loopback ports, a child process
//! that dies with the test process, and a plain HTTP/1.1 exchange for readiness probes
//! and fixtures. Where each server's program is, and whether it can run here, is
//! servers.rs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process run under a tiny shell guard that kills it (SIGKILL) when the
/// guard's stdin closes: when [`Guarded::stop`] drops the pipe, and when the test process
/// exits in any way (the server of a `static` is never dropped).
pub struct Guarded {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    out: PathBuf,
}

impl Guarded {
    /// Runs `program args` in `dir` with `env`, its output to `dir/<log_name>`.
    pub fn spawn(
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
        dir: &Path,
        log_name: &str,
    ) -> Guarded {
        let out_path = dir.join(log_name);
        let out = std::fs::File::create(&out_path).unwrap();
        // The shell ends with the server; a watcher kills it once stdin reaches EOF.
        // (Background jobs get /dev/null as stdin: the pipe goes to the watcher as fd 3.)
        let guard = r#"exec 3<&0
"$0" "$@" </dev/null 3<&- & pid=$!
{ cat <&3 >/dev/null; kill -9 $pid 2>/dev/null; } & watcher=$!
exec 3<&-
wait $pid; status=$?; kill $watcher 2>/dev/null; exit $status"#;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(guard)
            .arg(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        Guarded {
            stdin: child.stdin.take(),
            child: Some(child),
            out: out_path,
        }
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Panics with the server's output when it has exited (for readiness loops).
    pub fn assert_running(&mut self, what: &str) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{what} exited early ({status}): {}", self.output());
            }
        }
    }

    /// Kills the server at once (SIGKILL, like a crash) and waits until it is gone.
    pub fn stop(&mut self) {
        self.stdin.take();
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stdin.take();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

/// Waits until `ready` answers `Some`, checking that the server still runs; panics with
/// its output after `timeout`.
pub fn wait_ready<T>(
    server: &mut Guarded,
    what: &str,
    timeout: Duration,
    mut ready: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        server.assert_running(what);
        if let Some(value) = ready() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not become ready in {timeout:?}: {}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An HTTP answer: status and body (dechunked).
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` on a fresh connection (`Connection: close`,
/// `Content-Length` set); `None` when nothing answers.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Some(Answer { status, body })
}

/// The body of a chunked transfer encoding.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 2 + size + 2).min(raw.len())..];
    }
}

/// Runs `python3` on `script` (a file beside this one) with `args` in `dir`, its output to
/// `dir/<what>.out`, and waits for its `listening on PORT` line: the server and its port.
pub fn python_server(
    what: &str,
    script: &str,
    args: &[String],
    env: &[(&str, &str)],
    dir: &Path,
) -> (Guarded, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/common")
        .join(script);
    let mut all = vec![script.display().to_string()];
    all.extend_from_slice(args);
    let log = format!("{what}.out");
    let mut server = Guarded::spawn(Path::new("python3"), &all, env, dir, &log);
    let out = dir.join(&log);
    let port = wait_ready(&mut server, what, Duration::from_secs(30), || {
        std::fs::read_to_string(&out)
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("listening on "))
            .and_then(|p| p.trim().parse::<u16>().ok())
    });
    (server, port)
}

/// A Python server ([`python_server`]) serving the `root/` folder of a fresh temporary
/// directory (its one argument), with its PyPI packages (scripts/test.sh installs them
/// under target/, see servers.rs) on its PYTHONPATH.
pub struct PythonServer {
    pub server: Guarded,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl PythonServer {
    /// Starts `script` as `what`, `packages` its PYTHONPATH, `env` added.
    pub fn start(
        what: &str,
        script: &str,
        packages: Option<PathBuf>,
        env: &[(&str, &str)],
    ) -> PythonServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        let packages = packages
            .unwrap_or_else(|| panic!("no {what} (see common/servers.rs)"))
            .display()
            .to_string();
        let root = dir.path().join("root").display().to_string();
        let mut env = env.to_vec();
        env.push(("PYTHONPATH", &packages));
        let (server, port) = python_server(what, script, &[root], &env, dir.path());
        PythonServer { server, port, dir }
    }

    /// The served directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
}
