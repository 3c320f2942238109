//! The FTP server: pyftpdlib (PyPI `pyftpdlib==2.2.0`, installed by scripts/test.sh under
//! target/ with pip --target) running ftp_server.py beside this file, on 127.0.0.1 on a
//! free port it picks and prints (readiness is that line), serving a temporary directory.
//! Two users: one that may do everything, one that may only list and read.

use std::path::PathBuf;

use super::server::PythonServer;
use super::servers::pyftpdlib_packages;

pub const USER: &str = "broker";
/// A `:` and an `@` in it: the URI carries it percent-encoded, as Hadoop's users write it.
pub const PASSWORD: &str = "ftp:secret-9f3a@x";
pub const READER: &str = "reader";
pub const READER_PASSWORD: &str = "ftp-reader-secret-51c2";

pub struct FtpServer {
    server: PythonServer,
    pub port: u16,
}

impl FtpServer {
    pub fn start() -> FtpServer {
        let server = PythonServer::start(
            "pyftpdlib",
            "ftp_server.py",
            pyftpdlib_packages(),
            &[
                ("FTP_USER", USER),
                ("FTP_PASSWORD", PASSWORD),
                ("FTP_READER", READER),
                ("FTP_READER_PASSWORD", READER_PASSWORD),
            ],
        );
        FtpServer {
            port: server.port,
            server,
        }
    }

    /// `ftp://user:password@127.0.0.1:PORT`, the password percent-encoded.
    pub fn base(&self, user: &str, password: &str) -> String {
        let password: String = password
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("ftp://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// The served directory, as the server's `/`.
    pub fn root(&self) -> PathBuf {
        self.server.root()
    }

    pub fn output(&self) -> String {
        self.server.server.output()
    }
}
