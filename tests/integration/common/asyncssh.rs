//! A password-authenticated SFTP server: asyncssh (PyPI `asyncssh==2.24.1`, installed by
//! scripts/test.sh under target/) running sftp_password_server.py beside this file, on
//! 127.0.0.1 on a free port it picks and prints (readiness is that line), serving a
//! temporary directory as `/`. OpenSSH's sshd would check a password against the host's
//! user database, which the tests leave alone.

use super::server::PythonServer;
use super::servers::asyncssh_packages;

pub const USER: &str = "loader";
pub const PASSWORD: &str = "sftp-secret-7be4";

pub struct AsyncSsh {
    _server: PythonServer,
    pub port: u16,
}

impl AsyncSsh {
    pub fn start() -> AsyncSsh {
        let server = PythonServer::start(
            "asyncssh",
            "sftp_password_server.py",
            asyncssh_packages(),
            &[
                ("PYTHONWARNINGS", "ignore"),
                ("SFTP_USER", USER),
                ("SFTP_PASSWORD", PASSWORD),
            ],
        );
        AsyncSsh {
            port: server.port,
            _server: server,
        }
    }

    /// `sftp://user:password@127.0.0.1:PORT`.
    pub fn base(&self, password: &str) -> String {
        format!("sftp://{USER}:{password}@127.0.0.1:{}", self.port)
    }
}
