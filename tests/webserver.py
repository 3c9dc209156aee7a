"""A real HTTPS (and HTTP) server on 127.0.0.2:443 and :80 serving autoconfig files by Host,
including the broken ones discovery must survive. Needs root for the ports; loopback only."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ADDRESS = "127.0.0.2"
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<clientConfig version="1.1"><emailProvider id="x">&lol3;</emailProvider></clientConfig>"""


def config(host: str, port: int, socket_type: str = "SSL") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="ac.test">
  <domain>ac.test</domain>
  <incomingServer type="imap"><hostname>{host}</hostname><port>{port}</port>
    <socketType>{socket_type}</socketType><username>%EMAILADDRESS%</username>
    <authentication>password-cleartext</authentication></incomingServer>
  <incomingServer type="pop3"><hostname>pop.%EMAILDOMAIN%</hostname><port>995</port>
    <socketType>SSL</socketType><authentication>password-cleartext</authentication>
  </incomingServer>
</emailProvider></clientConfig>""".encode()


Route = Callable[[BaseHTTPRequestHandler], None]


def routes(imap_port: int) -> dict[str, Route]:
    def send(body: bytes, status: int = 200, kind: str = "text/xml") -> Route:
        def reply(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        return reply

    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "https://autoconfig.ac.test/mail/config-v1.1.xml")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def loop(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "/mail/config-v1.1.xml?again")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def huge(handler: BaseHTTPRequestHandler) -> None:  # 50 MB, without a Content-Length
        handler.send_response(200)
        handler.send_header("Content-Type", "text/xml")
        handler.end_headers()
        try:
            for _ in range(50 * 16):
                handler.wfile.write(b"<x>" + b"a" * 65533)
        except OSError:
            pass  # the client stopped reading, as it should

    return {
        "autoconfig.ac.test": send(config("mail.example.test", imap_port)),
        "autoconfig.redirect.test": redirect,
        "autoconfig.loop.test": loop,
        "autoconfig.huge.test": huge,
        "autoconfig.bomb.test": send(BOMB),
        "autoconfig.notxml.test": send(
            b"<html><body>Welcome to nginx!</body></html>", kind="text/html"
        ),
    }


@contextmanager
def serving(cert: Path, key: str | Path, imap_port: int) -> Iterator[None]:
    table = routes(imap_port)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0]
            route = table.get(host)
            if route is None or not self.path.startswith("/mail/config-v1.1.xml"):
                self.send_error(404)
                return
            route(self)

        def log_message(self, *args: object) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    https = ThreadingHTTPServer((ADDRESS, 443), Handler)
    https.socket = context.wrap_socket(https.socket, server_side=True)
    http = ThreadingHTTPServer((ADDRESS, 80), Handler)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (https, http)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for server in (https, http):
            server.shutdown()
            server.server_close()
