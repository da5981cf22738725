#!/usr/bin/env python3
"""An SMTP server for the end-to-end tests (tests/tests/smtp.rs).

Listens on 127.0.0.1:<port> and writes every message it accepts to <dir>
as one `.eml` file (the envelope first, as `X-Sink-*` header lines), so a
test can count deliveries and read them. Prints `listening <port>` once it
accepts connections. Runs until killed.

    smtp_sink.py --port 0 --dir /tmp/x [--tls starttls|implicit] [--auth user:pass]

`--tls` makes a throw-away self-signed certificate with the openssl CLI;
`--auth` requires AUTH PLAIN/LOGIN with those credentials (allowed without
TLS, since the tests run on loopback).
"""

import argparse
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import uuid
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        name = uuid.uuid4().hex
        tmp = os.path.join(self.directory, name + ".tmp")
        head = "X-Sink-Mail-From: {}\r\nX-Sink-Rcpt-To: {}\r\n".format(
            envelope.mail_from, ",".join(envelope.rcpt_tos)
        ).encode()
        with open(tmp, "wb") as f:
            f.write(head + envelope.original_content)
        # Renamed when complete, so a reader never sees half a message.
        os.replace(tmp, os.path.join(self.directory, name + ".eml"))
        return "250 OK"


def self_signed_context():
    workdir = tempfile.mkdtemp(prefix="smtp-sink-")
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--auth")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    smtp_kwargs = {}
    controller_kwargs = {}
    if args.tls == "starttls":
        smtp_kwargs.update(tls_context=self_signed_context(), require_starttls=True)
    elif args.tls == "implicit":
        controller_kwargs["ssl_context"] = self_signed_context()
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            return AuthResult(success=ok)

        # Loopback only: AUTH without TLS is what the test wants to exercise.
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        smtp_kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=False
        )

    port = args.port
    if port == 0:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    controller = Controller(
        Sink(args.dir),
        hostname="127.0.0.1",
        port=port,
        server_kwargs=smtp_kwargs,
        **controller_kwargs,
    )
    controller.start()
    print("listening {}".format(port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
