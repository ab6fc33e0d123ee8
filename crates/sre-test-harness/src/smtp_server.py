"""A real SMTP server for the tests: aiosmtpd with STARTTLS required and AUTH (PLAIN/LOGIN)
required after it. Every accepted message is written to mail/<n>.json with its envelope, the
TLS and login state of the session, and the message text.

Run in the service directory (cert.pem, key.pem there):
    SMTP_USER=u SMTP_PASSWORD=p python3 smtp_server.py PORT
"""

import json
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PORT = int(sys.argv[1])
USER = os.environ["SMTP_USER"].encode()
PASSWORD = os.environ["SMTP_PASSWORD"].encode()
OUT = os.path.abspath("mail")
os.makedirs(OUT, exist_ok=True)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER
        and auth_data.password == PASSWORD
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = len([f for f in os.listdir(OUT) if f.endswith(".json")])
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "login": session.auth_data.login.decode()
            if isinstance(session.auth_data, LoginPassword)
            else None,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        tmp = os.path.join(OUT, f".{n}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(OUT, f"{n}.json"))
        return "250 OK"


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain("cert.pem", "key.pem")
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=PORT,
    tls_context=context,
    require_starttls=True,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=True,
)
controller.start()
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
