//! A password-authenticated SFTP server: asyncssh (PyPI `asyncssh==2.24.1`, installed by
//! scripts/test.sh under target/) running sftp_password_server.py beside this file, on
//! 127.0.0.1 on a free port it picks and prints (readiness is that line), serving a
//! temporary directory as `/`. OpenSSH's sshd would check a password against the host's
//! user database, which the tests leave alone.

use super::server::{python_server, Guarded};
use super::servers::asyncssh_packages;

pub const USER: &str = "loader";
pub const PASSWORD: &str = "sftp-secret-7be4";

pub struct AsyncSsh {
    _server: Guarded,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl AsyncSsh {
    pub fn start() -> AsyncSsh {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        let packages = asyncssh_packages()
            .expect("no asyncssh (see common/servers.rs)")
            .display()
            .to_string();
        let root = dir.path().join("root").display().to_string();
        let (server, port) = python_server(
            "asyncssh",
            "sftp_password_server.py",
            &[root],
            &[
                ("PYTHONPATH", &packages),
                ("PYTHONWARNINGS", "ignore"),
                ("SFTP_USER", USER),
                ("SFTP_PASSWORD", PASSWORD),
            ],
            dir.path(),
        );
        AsyncSsh {
            _server: server,
            port,
            _dir: dir,
        }
    }

    /// `sftp://user:password@127.0.0.1:PORT`.
    pub fn base(&self, password: &str) -> String {
        format!("sftp://{USER}:{password}@127.0.0.1:{}", self.port)
    }
}
