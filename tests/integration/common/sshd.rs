//! OpenSSH's sshd (Debian `openssh-server`; .ci/run installs it) on 127.0.0.1 on a free
//! port, with a host key and a user key made for the run, the user's key authorized in
//! a file of its own: `sshd -D -e` with `UsePAM no` and `StrictModes no`, logging in as
//! the user the tests run as (root in CI). Readiness is its `Server listening` line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::server::{free_port, wait_ready, Guarded};
use super::servers::sshd_binary;

pub struct Sshd {
    _server: Guarded,
    pub port: u16,
    /// The user logged in as, and the private key it is let in with.
    pub user: String,
    pub key: PathBuf,
    /// A key the server does not know.
    pub stranger_key: PathBuf,
    dir: tempfile::TempDir,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "broker-test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen -f {}", path.display());
}

impl Sshd {
    pub fn start() -> Sshd {
        let sshd = sshd_binary().expect("no sshd (see common/servers.rs)");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in ["host_key", "user_key", "stranger_key"] {
            keygen(&d.join(name));
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        // sshd started as root wants its privilege separation directory (systemd makes it).
        if Path::new("/run").is_dir() && unsafe { libc::geteuid() } == 0 {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let args = ["-D", "-e", "-f"]
            .iter()
            .map(|s| s.to_string())
            .chain([d.join("sshd_config").display().to_string()])
            .collect::<Vec<_>>();
        let mut server = Guarded::spawn(&sshd, &args, &[], d, "sshd.out");
        let listening = format!("Server listening on 127.0.0.1 port {port}.");
        wait_ready(&mut server, "sshd", Duration::from_secs(30), || {
            server_output(d).contains(&listening).then_some(())
        });
        let user = String::from_utf8(
            Command::new("id")
                .arg("-un")
                .output()
                .expect("id -un")
                .stdout,
        )
        .unwrap()
        .trim()
        .to_string();
        Sshd {
            _server: server,
            port,
            user,
            key: d.join("user_key"),
            stranger_key: d.join("stranger_key"),
            dir,
        }
    }

    /// `sftp://user@127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("sftp://{}@127.0.0.1:{}", self.user, self.port)
    }

    /// A fresh directory on the server (below this fixture's temporary directory): the
    /// server's paths are the host's.
    pub fn scratch(&self) -> PathBuf {
        let dir = self.dir.path().join("files");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

fn server_output(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("sshd.out")).unwrap_or_default()
}
