"""The password-authenticated SFTP server of the sftp:// tests (sftp.rs): asyncssh (PyPI,
installed by scripts/test.sh under target/) serving ROOT as `/` on 127.0.0.1, a free
port, with a throw-away host key. OpenSSH's sshd would check passwords against the
system's user database, which the tests do not touch.

Usage: sftp_password_server.py ROOT, with SFTP_USER and SFTP_PASSWORD in the
environment. Prints `listening on PORT` once it accepts connections.
"""

import asyncio
import os
import sys

import asyncssh

ROOT = sys.argv[1]
USER = os.environ["SFTP_USER"]
PASSWORD = os.environ["SFTP_PASSWORD"]


class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return username == USER and password == PASSWORD


async def main():
    server = await asyncssh.create_server(
        Server,
        "127.0.0.1",
        0,
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=ROOT),
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    await asyncio.Future()


asyncio.run(main())
