"""Shared fixtures: settings on a temporary data home, and tiny landing files."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from pipelines.config import Settings

# No time limit per example: speed is the benchmark's to measure, and on a loaded machine (two
# pytest workers on two cores) a first example that warms up Polars or DuckDB can take 200 ms.
hypothesis_settings.register_profile("project", deadline=None)
hypothesis_settings.load_profile("project")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "data", duckdb_memory_limit="1GB", duckdb_threads=1)


def query(settings: Settings, sql: str, published: bool = False) -> list[tuple]:
    """Rows of `sql` on the work file (or the published one), opened read-only and closed."""
    from pipelines.warehouse import connect

    path = settings.published_db if published else settings.work_db
    con = connect(settings, path=path, read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def write_landing(settings: Settings, source: str, day: str, name: str, text: str,
                  encoding: str = "utf-8") -> Path:
    """Drop a file into the landing folder as an integration would."""
    path = settings.landing_dir / source / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


# Alert receivers: a real SMTP server and a real HTTP webhook on localhost.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, mail))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"pipeline", b"s3cret-pass")
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    # A server that requires the login the connection holds (without TLS, on localhost only).
    from aiosmtpd.controller import Controller

    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=_authenticator, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


@pytest.fixture
def webhook_server():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            """Nothing on stderr: the test checks what arrived, not the server's log."""

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/T0/B0", received
    finally:
        server.shutdown()
