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
from asyncssh import sftp as asyncssh_sftp

ROOT = sys.argv[1]
USER = os.environ["SFTP_USER"]
PASSWORD = os.environ["SFTP_PASSWORD"]


def ascii_handle(self):
    """Handles as decimal digits. The protocol makes handles opaque bytes; the broker's
    SFTP client (russh-sftp) keeps them as UTF-8 text, and asyncssh's own (a 4-byte
    counter) stop being UTF-8 from the 128th on. OpenSSH's are small reused indexes."""
    while True:
        handle = str(self._next_handle).encode()
        self._next_handle += 1
        if handle not in self._file_handles and handle not in self._dir_handles:
            return handle


asyncssh_sftp.SFTPServerHandler._get_next_handle = ascii_handle


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
