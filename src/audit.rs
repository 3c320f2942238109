//! One audit line per RPC: time, peer, clientId, method, path(s), status, bytes, duration.
//!
//! Off unless `audit_log_modules` names a module: a busy BE issues thousands of 8 MiB
//! preads a minute, and most operators want the record of who listed, wrote, renamed and
//! deleted what (`list`, `write`, `meta`) rather than every read. Modules are method
//! groups: `list` (listPath, listLocatedFiles), `read` (openReader, pread, seek,
//! closeReader), `write` (openWriter, pwrite, closeWriter), `meta` (deletePath,
//! renamePath, checkPathExist, fileSize, isSplittable), `ping`, or `all`. Property maps
//! never appear in a record.

use std::net::SocketAddr;
use std::time::Duration;

use crate::logging::AUDIT_TARGET;
use crate::sessions::{FdId, Sessions};
use crate::wire::generated::TBrokerFD;
use crate::wire::{Call, Method, Reply};

/// Which methods are audited (a bit per method, set by its group in the method table).
#[derive(Debug, Clone, Copy, Default)]
pub struct Audit {
    methods: u64,
}

impl Audit {
    /// The module names `audit_log_modules` knows: the method table's groups, and `all`.
    pub fn modules() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for method in Method::ALL {
            if !names.contains(&method.audit_group()) {
                names.push(method.audit_group());
            }
        }
        names.push("all");
        names
    }

    /// From `audit_log_modules`; unknown names are reported back so start-up can warn.
    pub fn new(modules: &[String]) -> (Audit, Vec<String>) {
        let mut methods = 0u64;
        let mut unknown = Vec::new();
        for module in modules {
            let module = module.trim().to_ascii_lowercase();
            let chosen: Vec<&Method> = Method::ALL
                .iter()
                .filter(|m| module == "all" || m.audit_group() == module)
                .collect();
            if chosen.is_empty() {
                unknown.push(module);
            }
            for method in chosen {
                methods |= 1 << (*method as u32);
            }
        }
        (Audit { methods }, unknown)
    }

    pub fn wants(&self, method: Method) -> bool {
        self.methods & (1 << (method as u32)) != 0
    }
}

/// What a record says about the request, taken before the call runs.
pub struct Record {
    client: String,
    subject: Subject,
    bytes_in: usize,
}

/// What a call acts on: paths, or an fd whose path is looked up only when a line needs it
/// (a pread costs no table lookup unless it is audited or fails).
enum Subject {
    Paths(String),
    Fd(FdId),
}

impl Record {
    /// The clientId the request names, empty when it names none.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// The path, `SRC -> DST` of a rename, or the path an fd streams (`fd:ID` if that was
    /// not looked up, or the fd is not open).
    pub fn paths(&self) -> std::borrow::Cow<'_, str> {
        match &self.subject {
            Subject::Paths(paths) => paths.into(),
            Subject::Fd(fd) => format!("fd:{fd}").into(),
        }
    }

    /// Looks up the path of the fd the call names. Done before the call for an audit
    /// record (a close removes its fd), after it for a failure line.
    pub fn resolve_fd(&mut self, sessions: &Sessions) {
        if let Subject::Fd(fd) = self.subject {
            if let Some(path) = sessions.path_of(fd) {
                self.subject = Subject::Paths(path);
            }
        }
    }
}

fn fd_of(fd: &TBrokerFD) -> Subject {
    Subject::Fd(FdId {
        high: fd.high,
        low: fd.low,
    })
}

pub fn describe(call: &Call) -> Record {
    let none = String::new;
    let path = |p: &String| Subject::Paths(p.clone());
    let (client, subject, bytes_in) = match call {
        Call::ListPath(r) | Call::ListLocatedFiles(r) => (none(), path(&r.path), 0),
        Call::DeletePath(r) => (none(), path(&r.path), 0),
        Call::RenamePath(r) => (
            none(),
            Subject::Paths(format!("{} -> {}", r.src_path, r.dest_path)),
            0,
        ),
        Call::CheckPathExist(r) => (none(), path(&r.path), 0),
        Call::FileSize(r) => (none(), path(&r.path), 0),
        Call::IsSplittable(r) => (
            none(),
            Subject::Paths(r.path.clone().unwrap_or_default()),
            0,
        ),
        Call::OpenReader(r) => (r.client_id.clone(), path(&r.path), 0),
        Call::OpenWriter(r) => (r.client_id.clone(), path(&r.path), 0),
        Call::Ping(r) => (r.client_id.clone(), Subject::Paths(none()), 0),
        Call::Pread(r) => (none(), fd_of(&r.fd), 0),
        Call::Seek(r) => (none(), fd_of(&r.fd), 0),
        Call::CloseReader(r) => (none(), fd_of(&r.fd), 0),
        Call::Pwrite(r) => (none(), fd_of(&r.fd), r.data.len()),
        Call::CloseWriter(r) => (none(), fd_of(&r.fd), 0),
    };
    Record {
        client,
        subject,
        bytes_in,
    }
}

/// Writes the record: `peer=.. client=.. method=.. path=.. status=.. bytes=.. ms=..`.
pub fn emit(peer: SocketAddr, method: Method, record: Record, reply: &Reply, elapsed: Duration) {
    let bytes_out = match reply {
        Reply::Read(r) => r.data.as_ref().map_or(0, Vec::len),
        Reply::Data(data) => data.len(),
        _ => 0,
    };
    tracing::info!(
        target: AUDIT_TARGET,
        "peer={peer} client={} method={} path={} status={} bytes={} ms={:.3}",
        if record.client.is_empty() { "-" } else { &record.client },
        method.name(),
        if record.paths().is_empty() { "-".into() } else { record.paths() },
        reply.status_code(),
        record.bytes_in + bytes_out,
        elapsed.as_secs_f64() * 1000.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_select_method_groups() {
        let (a, unknown) = Audit::new(&["write".into(), "META".into(), "bogus".into()]);
        assert!(a.wants(Method::Pwrite) && a.wants(Method::RenamePath));
        assert!(!a.wants(Method::Pread) && !a.wants(Method::Ping));
        assert_eq!(unknown, vec!["bogus".to_string()]);
        let (all, _) = Audit::new(&["all".into()]);
        assert!(all.wants(Method::Ping) && all.wants(Method::ListPath));
        assert!(!Audit::default().wants(Method::ListPath));
        assert_eq!(
            Audit::modules(),
            ["list", "meta", "read", "write", "ping", "all"]
        );
    }
}
