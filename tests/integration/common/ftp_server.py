"""The FTP server of the ftp:// tests (ftp.rs beside it): pyftpdlib (PyPI, installed by
scripts/test.sh under target/) serving ROOT on 127.0.0.1, a free port.

Usage: ftp_server.py ROOT, with the users in the environment: FTP_USER/FTP_PASSWORD may
do everything, FTP_READER/FTP_READER_PASSWORD may only list and read. Prints
`listening on PORT` once it accepts connections, then one log line per command and
transfer (`... RETR /a/b completed=1 bytes=... seconds=...`).
"""

import logging
import os
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

ROOT = sys.argv[1]

authorizer = DummyAuthorizer()
# e=cwd l=list r=retr a=appe d=dele f=rename m=mkd w=stor M=chmod T=mtime
authorizer.add_user(os.environ["FTP_USER"], os.environ["FTP_PASSWORD"], ROOT, perm="elradfmwMT")
authorizer.add_user(os.environ["FTP_READER"], os.environ["FTP_READER_PASSWORD"], ROOT, perm="elr")


class HandedOverActiveDTP(FTPHandler.active_dtp):
    """pyftpdlib 2.2.0's ActiveDTP hands its connected socket to the data channel but
    stays the session's `_dtp_connector`, remembering the socket's fd number. When the
    session later ends or sends PORT again, it closes that connector, which unregisters
    the fd number from the IO loop: by then the data channel may have closed that fd and a
    new connection (another session) been given the same number, and that connection is
    never read again (it stalls until its 300 s idle timeout). Open upstream (pyftpdlib
    pull request 657, whose fix the maintainer asked to move into del_channel): once the
    socket is handed over, the connector no longer unregisters anything."""

    _handed_over = False

    def handle_connect(self):
        super().handle_connect()
        self._handed_over = True

    def del_channel(self, map=None):
        if not self._handed_over:
            super().del_channel(map)


class Handler(FTPHandler):
    authorizer = authorizer
    active_dtp = HandedOverActiveDTP
    banner = "broker test FTP server"


logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
server = FTPServer(("127.0.0.1", 0), Handler)
server.max_cons = 512
print(f"listening on {server.socket.getsockname()[1]}", flush=True)
server.serve_forever()
