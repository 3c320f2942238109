//! `broker_local_roots` through the real wire: every way out of a root (`..`, `.`,
//! repeated slashes, percent-encoding, symlinks relative and absolute, a sibling sharing
//! the root's prefix) tried with every path-taking method, each answered NOT_AUTHORIZED
//! naming the key, with every byte outside the root as it was; a symlink swapped in and
//! out while clients read, write, list and delete through it; a broker whose kernel seems
//! to lack `openat2` (a seccomp filter answers ENOSYS, as CentOS 7's 3.10 would) passing
//! the same; no roots, a malformed root, a root that is not there yet.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apache_hdfs_broker::wire::generated::{TBrokerListResponse, TBrokerOperationStatus};

use crate::common::*;

const CLIENT: &str = "be:roots";
const SECRET: &[u8] = b"OUTSIDE THE ROOT: never served";
const KEY: &str = "broker_local_roots";

/// `base/root` is the root; `base/outside` and `base/rootx` are not.
struct Fixture {
    base: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let base = tempfile::tempdir().unwrap();
        let b = base.path();
        make_tree(
            b,
            &[
                ("outside/secret.txt", SECRET),
                ("outside/dir/inner.txt", SECRET),
                ("rootx/secret.txt", SECRET),
                ("root/in.txt", b"inside"),
                ("root/sub/deeper.txt", b"deeper"),
            ],
        );
        let root = b.join("root");
        symlink("../outside", root.join("out")).unwrap();
        symlink(b.join("outside"), root.join("out_abs")).unwrap();
        symlink("../outside/secret.txt", root.join("secret_link")).unwrap();
        symlink("../..", root.join("sub/up")).unwrap();
        // Absolute, though it points inside: RESOLVE_BENEATH refuses absolute links.
        symlink(root.join("in.txt"), root.join("abs_inside")).unwrap();
        // Relative and inside: followed.
        symlink("../in.txt", root.join("sub/back")).unwrap();
        symlink("sub", root.join("in_dir")).unwrap();
        Fixture { base }
    }

    fn root(&self) -> PathBuf {
        self.base.path().join("root")
    }

    fn broker(&self) -> BrokerProcess {
        BrokerProcess::start_with(&[(KEY, self.root().to_str().unwrap())])
    }

    /// The same broker on a kernel without `openat2`: cap-std's own confined resolution.
    fn broker_without_openat2(&self) -> BrokerProcess {
        let broker = BrokerProcess::start_adjusted(
            &[(KEY, self.root().to_str().unwrap())],
            None,
            without_openat2,
        );
        let status = std::fs::read_to_string(format!("/proc/{}/status", broker.pid())).unwrap();
        assert!(
            status.lines().any(|l| l == "Seccomp:\t2"),
            "the filter is not installed: {status}"
        );
        broker
    }

    /// Every entry below the base, links not followed: files with their bytes, links with
    /// their target, directories as such.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.base.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let what = if meta.is_symlink() {
                    let target = std::fs::read_link(&path).unwrap();
                    format!("link -> {}", target.display()).into_bytes()
                } else if meta.is_dir() {
                    stack.push(path.clone());
                    b"dir".to_vec()
                } else {
                    std::fs::read(&path).unwrap()
                };
                out.insert(path, what);
            }
        }
        out
    }
}

/// Installs a seccomp filter in the child before it runs the broker: `openat2` answers
/// ENOSYS, everything else is allowed. (strace can inject the same, but a killed strace
/// leaves its tracee running.)
fn without_openat2(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let filter = [
        // seccomp_data.nr is at offset 0; openat2 is 437 on every architecture.
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: 437,
        },
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    // SAFETY: only async-signal-safe calls (prctl) between fork and exec, on memory the
    // closure owns.
    unsafe {
        command.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &prog as *const libc::sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// One way out of the root: `dir` spells a directory outside it holding `secret.txt`
/// (or, for the spellings that name a file, `file` is that file).
struct Escape {
    how: &'static str,
    dir: Option<String>,
    file: String,
}

fn escapes(f: &Fixture) -> Vec<Escape> {
    let root = f.root().display().to_string();
    let base = f.base.path().display().to_string();
    let dirs = [
        ("dot-dot", format!("file:{root}/../outside")),
        (
            "dot-dot below a subdirectory",
            format!("file:{root}/sub/../../outside"),
        ),
        (
            "dots and repeated slashes",
            format!("file://{root}/.//sub/..//..//./outside"),
        ),
        (
            "percent-encoded separators",
            format!("file:{base}/root%2F..%2Foutside"),
        ),
        (
            "percent-encoded root name",
            format!("file:{base}/%72oot/../outside"),
        ),
        ("symlink out of the root", format!("file:{root}/out")),
        (
            "absolute symlink out of the root",
            format!("file:{root}/out_abs"),
        ),
        (
            "symlink up from a subdirectory",
            format!("file:{root}/sub/up/outside"),
        ),
        (
            "sibling sharing the root's prefix",
            format!("file:{base}/rootx"),
        ),
        ("absolute path outside", format!("file:{base}/outside")),
        ("the parent of the root", format!("file:{base}")),
    ];
    let mut out: Vec<Escape> = dirs
        .into_iter()
        .map(|(how, dir)| Escape {
            how,
            file: format!("{dir}/secret.txt"),
            dir: Some(dir),
        })
        .collect();
    out.push(Escape {
        how: "symlink to a file outside",
        dir: None,
        file: format!("file:{root}/secret_link"),
    });
    out.push(Escape {
        how: "absolute symlink (even to a file inside)",
        dir: None,
        file: format!("file:{root}/abs_inside"),
    });
    out
}

/// Every path-taking method, on one escape: `(method, status)`, `None` where the method
/// needs a directory spelling the escape does not have.
type Method = fn(&mut Client, &Escape, &str) -> Option<TBrokerOperationStatus>;

fn methods() -> Vec<(&'static str, Method)> {
    vec![
        ("listPath", |c, e, _| {
            Some(c.list(&e.file, false, false).op_status)
        }),
        ("listPath glob", |c, e, _| {
            let dir = e.dir.as_ref()?;
            Some(c.list(&format!("{dir}/*"), false, false).op_status)
        }),
        ("listPath recursive", |c, e, _| {
            Some(c.list(e.dir.as_ref()?, true, false).op_status)
        }),
        ("listLocatedFiles", |c, e, _| {
            Some(c.list_located(e.dir.as_ref()?, false, false).op_status)
        }),
        ("listLocatedFiles recursive", |c, e, _| {
            Some(c.list_located(e.dir.as_ref()?, true, false).op_status)
        }),
        ("checkPathExist", |c, e, _| {
            Some(c.exists(&e.file).op_status)
        }),
        ("fileSize", |c, e, _| Some(c.file_size(&e.file).op_status)),
        ("openReader", |c, e, _| {
            let r = c.open_reader(&e.file, CLIENT);
            assert!(r.fd.is_none(), "openReader({}) gave an fd", e.file);
            Some(r.op_status)
        }),
        ("openWriter (existing file)", |c, e, _| {
            let w = c.open_writer(&e.file, CLIENT);
            assert!(w.fd.is_none(), "openWriter({}) gave an fd", e.file);
            Some(w.op_status)
        }),
        ("openWriter (new file)", |c, e, _| {
            let w = c.open_writer(&format!("{}/new.txt", e.dir.as_ref()?), CLIENT);
            assert!(w.fd.is_none());
            Some(w.op_status)
        }),
        ("openWriter (new directory)", |c, e, _| {
            let w = c.open_writer(&format!("{}/made/new.txt", e.dir.as_ref()?), CLIENT);
            assert!(w.fd.is_none());
            Some(w.op_status)
        }),
        ("deletePath (file)", |c, e, _| Some(c.delete(&e.file))),
        ("deletePath (directory)", |c, e, _| {
            Some(c.delete(e.dir.as_ref()?))
        }),
        ("renamePath (source)", |c, e, root| {
            Some(c.rename(&e.file, &format!("file:{root}/moved.txt")))
        }),
        ("renamePath (target)", |c, e, root| {
            let target = format!("{}/new.txt", e.dir.as_ref()?);
            Some(c.rename(&format!("file:{root}/in.txt"), &target))
        }),
        ("renamePath (existing target)", |c, e, root| {
            Some(c.rename(&format!("file:{root}/in.txt"), &e.file))
        }),
        ("renamePath (directory into it)", |c, e, root| {
            let target = format!("{}/sub", e.dir.as_ref()?);
            Some(c.rename(&format!("file:{root}/sub"), &target))
        }),
    ]
}

/// Every escape × every method: NOT_AUTHORIZED naming the key, and not one byte, name or
/// link anywhere below the fixture changed.
fn every_escape_refused(f: &Fixture, broker: &BrokerProcess) {
    let mut c = broker.client();
    let before = f.snapshot();
    let root = f.root().display().to_string();
    let mut tried = 0;
    for escape in escapes(f) {
        for (method, call) in methods() {
            let Some(status) = call(&mut c, &escape, &root) else {
                continue;
            };
            tried += 1;
            let what = format!("{method} via {} ({})", escape.how, escape.file);
            assert_eq!(
                status.status_code,
                Code::NOT_AUTHORIZED,
                "{what}: {:?}",
                status.message
            );
            let text = message(&status);
            assert!(
                text.contains(KEY),
                "{what}: the message names no key: {text}"
            );
            assert!(
                text.contains("file:/"),
                "{what}: the message names no path: {text}"
            );
            assert_eq!(f.snapshot(), before, "{what} changed the files");
        }
    }
    assert!(tried >= 150, "only {tried} cases ran");
}

/// Each check as two tests: on this kernel (`openat2`), and on one without it.
macro_rules! on_both_kernels {
    ($($check:ident: $with:ident, $without:ident;)*) => {$(
        #[test]
        fn $with() {
            let f = Fixture::new();
            $check(&f, &f.broker());
        }

        #[test]
        fn $without() {
            let f = Fixture::new();
            $check(&f, &f.broker_without_openat2());
        }
    )*};
}

on_both_kernels! {
    every_escape_refused:
        every_escape_is_refused_by_every_method,
        every_escape_is_refused_by_every_method_without_openat2;
    inside_is_served:
        inside_the_root_links_dots_and_percent_signs_are_served,
        inside_the_root_is_served_without_openat2;
    swap_race:
        a_symlink_swapped_in_never_leaks_or_writes_a_byte_outside,
        a_symlink_swapped_in_never_leaks_without_openat2;
}

/// What lies inside stays served: relative links inside the root, `..` that stays in it,
/// a percent sign as a plain character (no decoding, as Hadoop's Path), and listings
/// that leave out the links leading out (so no glob result ever names one).
fn inside_is_served(f: &Fixture, broker: &BrokerProcess) {
    let mut c = broker.client();
    let root = f.root().display().to_string();
    for (path, want) in [
        (format!("file:{root}/sub/back"), b"inside".as_slice()),
        (format!("file:{root}/in_dir/deeper.txt"), b"deeper"),
        (format!("file:{root}/sub/../in.txt"), b"inside"),
        (format!("file:///{root}//./in.txt"), b"inside"),
    ] {
        assert_eq!(c.read_file(&path, CLIENT, 64), want, "{path}");
    }
    let literal = format!("file:{root}/%2e%2e/x.txt");
    c.write_file(&literal, CLIENT, b"literal", 64);
    assert_eq!(
        std::fs::read(f.root().join("%2e%2e/x.txt")).unwrap(),
        b"literal"
    );
    let names = |r: &TBrokerListResponse| -> Vec<String> {
        assert_ok(&r.op_status);
        let mut n: Vec<String> = r.files.iter().flatten().map(|s| s.path.clone()).collect();
        n.sort();
        n
    };
    let top = names(&c.list(&format!("file:{root}/*"), false, true));
    assert_eq!(top, ["%2e%2e", "in.txt", "in_dir", "sub"], "{top:?}");
    let all = names(&c.list(&format!("file:{root}"), true, false));
    let want: Vec<String> = [
        "%2e%2e/x.txt",
        "in.txt",
        "in_dir/back",
        "in_dir/deeper.txt",
        "sub/back",
        "sub/deeper.txt",
    ]
    .iter()
    .map(|p| format!("file:{root}/{p}"))
    .collect();
    assert_eq!(all, want);
    let located = names(&c.list_located(&format!("file:{root}"), true, false));
    assert_eq!(located, want);
    let globbed = names(&c.list(&format!("file:{root}/*/*"), false, false));
    assert!(
        globbed
            .iter()
            .all(|p| !p.contains("secret") && !p.contains("/up")),
        "{globbed:?}"
    );
    // The root itself is listed, but cannot be deleted or renamed away.
    assert_ok(&c.exists(&format!("file:{root}")).op_status);
    for status in [
        c.delete(&format!("file:{root}")),
        c.delete(&format!("file:{root}/sub/..")),
        c.rename(&format!("file:{root}"), &format!("file:{root}/sub/r")),
    ] {
        assert_code(&status, Code::NOT_AUTHORIZED);
        assert!(message(&status).contains(KEY), "{status:?}");
    }
    assert!(f.root().join("in.txt").exists());
}

/// A thread swaps `root/swap` between a directory inside the root and a symlink to the
/// outside one (each swap one atomic rename) while a client reads, writes, lists and
/// deletes through it: every answer is the inside bytes or NOT_AUTHORIZED (a miss while
/// the link was being replaced is FILE_NOT_FOUND), never a byte from outside, and nothing
/// outside is written, removed or created.
fn swap_race(f: &Fixture, broker: &BrokerProcess) {
    let root = f.root();
    let inside = b"inside data";
    make_tree(
        f.base.path(),
        &[
            ("root/real/data.txt", inside.as_slice()),
            ("root/real/victim.txt", b"inside victim"),
            ("outside/data.txt", SECRET),
            ("outside/victim.txt", SECRET),
        ],
    );
    let outside_before: BTreeMap<PathBuf, Vec<u8>> = f
        .snapshot()
        .into_iter()
        .filter(|(p, _)| p.starts_with(f.base.path().join("outside")))
        .collect();
    symlink("real", root.join("swap")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let swapper = {
        let (root, stop, swaps) = (root.clone(), stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            let mut out = false;
            while !stop.load(Ordering::Relaxed) {
                out = !out;
                let tmp = root.join(".swap.tmp");
                let _ = std::fs::remove_file(&tmp);
                symlink(if out { "../outside" } else { "real" }, &tmp).unwrap();
                std::fs::rename(&tmp, root.join("swap")).unwrap();
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut c = broker.client();
    let swap = format!("file:{}/swap", root.display());
    let (mut served, mut refused) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut i = 0;
    while Instant::now() < deadline || served == 0 || refused == 0 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(20),
            "no mix of answers: {served} served, {refused} refused"
        );
        i += 1;
        let r = c.open_reader(&format!("{swap}/data.txt"), CLIENT);
        match r.op_status.status_code {
            Code::OK => {
                let fd = r.fd.unwrap();
                let got = c.read_at(&fd, 0, 64);
                assert_eq!(got, inside, "read {i} served bytes from outside");
                assert_ok(&c.close_reader(&fd));
                served += 1;
            }
            Code::NOT_AUTHORIZED => refused += 1,
            Code::FILE_NOT_FOUND => {}
            other => panic!("read {i}: {other:?} {:?}", r.op_status.message),
        }
        let w = c.open_writer(&format!("{swap}/w-{i}.txt"), CLIENT);
        if let Some(fd) = w.fd {
            assert_ok(&c.pwrite(&fd, 0, b"written"));
            assert_ok(&c.close_writer(&fd));
        }
        let listed = c.list(&format!("{swap}/*"), false, true);
        for s in listed.files.iter().flatten() {
            assert!(
                !s.path.contains("secret"),
                "listing {i} shows outside: {}",
                s.path
            );
        }
        let _ = c.delete(&format!("{swap}/victim.txt"));
        let size = c.file_size(&format!("{swap}/data.txt"));
        if size.op_status.status_code == Code::OK {
            assert_eq!(size.file_size, Some(inside.len() as i64), "size {i}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    let outside_after: BTreeMap<PathBuf, Vec<u8>> = f
        .snapshot()
        .into_iter()
        .filter(|(p, _)| p.starts_with(f.base.path().join("outside")))
        .collect();
    assert_eq!(outside_after, outside_before, "something changed outside");
    eprintln!(
        "{i} rounds, {} swaps: {served} reads served inside, {refused} refused",
        swaps.load(Ordering::Relaxed)
    );
}

/// The broker on a loopback conf of `home` holding `conf` and nothing about the roots (no
/// harness defaults).
fn verbatim(home: &Path, conf: &str) -> Command {
    let path = home.join("apache_hdfs_broker.conf");
    let conf = format!(
        "broker_ipc_port = 0\nbroker_http_port = -1\nbroker_bind_address = 127.0.0.1\n\
         sys_log_dir = {}\n{conf}",
        home.join("log").display()
    );
    std::fs::write(&path, conf).unwrap();
    let mut command = Command::new(broker_bin());
    command
        .arg("--conf")
        .arg(&path)
        .env("BROKER_HOME", home)
        .stdin(Stdio::null());
    command
}

/// Starts [`verbatim`] and returns it with its port once it listens.
fn start_verbatim(home: &Path, conf: &str) -> (std::process::Child, u16) {
    let mut child = verbatim(home, conf)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("thrift server listening"))
        .expect("the broker did not start");
    let port = ready.split("(port ").nth(1).unwrap();
    (child, port.trim_end_matches(')').parse().unwrap())
}

/// A conf without the key (an operator's Java conf) and one with it empty serve no
/// `file://` at all, each refusal naming the key; the log says so at start.
#[test]
fn without_roots_no_file_is_served_naming_the_key() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("a.csv"), b"1,2\n").unwrap();
    let file = uri(&data.path().join("a.csv"));
    for conf in ["", "broker_local_roots =\n"] {
        let home = tempfile::tempdir().unwrap();
        let (mut child, port) = start_verbatim(home.path(), conf);
        let mut c = Client::connect(port);
        let r = c.open_reader(&file, CLIENT);
        let statuses = [
            r.op_status,
            c.exists(&file).op_status,
            c.list(&file, false, false).op_status,
            c.open_writer(&uri(&data.path().join("b.csv")), CLIENT)
                .op_status,
            c.delete(&file),
        ];
        for s in statuses {
            assert_code(&s, Code::NOT_AUTHORIZED);
            let text = message(&s);
            assert!(
                text.contains(KEY) && text.contains("not set"),
                "{conf:?}: {text}"
            );
        }
        assert_eq!(std::fs::read(data.path().join("a.csv")).unwrap(), b"1,2\n");
        assert!(!data.path().join("b.csv").exists());
        // Logged before the ready line; the log file is written by a background thread.
        let log_path = home.path().join("log/apache_hdfs_broker.log");
        wait_for(
            "the WARN line about the key",
            Duration::from_secs(10),
            || {
                std::fs::read_to_string(&log_path).is_ok_and(|log| {
                    log.lines()
                        .any(|l| l.contains("WARN") && l.contains(KEY) && l.contains("not set"))
                })
            },
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn a_malformed_root_stops_the_start_naming_key_and_entry() {
    for (value, entry) in [
        ("/data, relative/dir", "relative/dir"),
        ("/data/../etc", "/data/../etc"),
        ("./data", "./data"),
    ] {
        let home = tempfile::tempdir().unwrap();
        let out = verbatim(home.path(), &format!("{KEY} = {value}\n"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{value} started");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(KEY) && err.contains(entry), "{err}");
    }
}

/// A root that does not exist yet (a NAS not mounted) is warned about at start; paths
/// beneath it are not found, a write creates nothing (not the root either), and once the
/// directory exists it is served without a restart.
#[test]
fn a_missing_root_is_warned_about_and_served_once_it_exists() {
    let base = tempfile::tempdir().unwrap();
    let nas = base.path().join("nas");
    let broker = BrokerProcess::start_with(&[(KEY, nas.to_str().unwrap())]);
    let log = broker.log();
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains(KEY) && l.contains(nas.to_str().unwrap())),
        "{log}"
    );
    let mut c = broker.client();
    let file = uri(&nas.join("d/a.csv"));
    let w = c.open_writer(&file, CLIENT);
    assert!(w.fd.is_none());
    assert!(message(&w.op_status).contains(KEY), "{:?}", w.op_status);
    assert!(!nas.exists(), "the broker created its root");
    let r = c.open_reader(&file, CLIENT);
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    assert!(!c.exists(&file).is_path_exist);
    std::fs::create_dir(&nas).unwrap();
    c.write_file(&file, CLIENT, b"mounted", 64);
    assert_eq!(std::fs::read(nas.join("d/a.csv")).unwrap(), b"mounted");
}
