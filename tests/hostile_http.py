"""Loopback HTTP servers that behave as a hostile GitLab would: redirect elsewhere, drip
their answers one byte a second. Each records every request it got (headers and all)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROJECT = {
    "id": 1,
    "path_with_namespace": "group/proj",
    "web_url": "http://gitlab.invalid/group/proj",
    "default_branch": "master",
}


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0  # seconds between bytes of the whole answer (status line included)


Handler = Callable[[str, str], Answer]  # (method, path) -> answer


@dataclass
class Server:
    url: str
    seen: list[dict[str, str]]

    def carrying(self, secret: str) -> list[dict[str, str]]:
        """The requests that carried ``secret`` in any header."""
        return [r for r in self.seen if any(secret in v for k, v in r.items() if k != "path")]


def json_answer(value: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(value).encode(), {"Content-Type": "application/json"})


@contextmanager
def serve(handler: Handler) -> Iterator[Server]:
    seen: list[dict[str, str]] = []
    stop = threading.Event()

    class Requests(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen.append({"path": self.path, "method": self.command, **dict(self.headers.items())})
            answer = handler(self.command, self.path)
            head = [f"HTTP/1.1 {answer.status} X"]
            headers = {"Content-Length": str(len(answer.body)), **answer.headers}
            head += [f"{k}: {v}" for k, v in headers.items()]
            raw = ("\r\n".join(head) + "\r\n\r\n").encode() + answer.body
            try:
                if not answer.drip:
                    self.wfile.write(raw)
                    return
                for i in range(len(raw)):
                    if stop.is_set():
                        return
                    self.wfile.write(raw[i : i + 1])
                    self.wfile.flush()
                    time.sleep(answer.drip)
            except OSError:
                return

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Requests)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


Divert = Callable[[str, str], Answer | None]  # (method, path) -> an answer, or None: forward


@contextmanager
def proxy(upstream: str, divert: Divert = lambda method, path: None) -> Iterator[Server]:
    """A loopback origin of its own in front of ``upstream`` (the sandbox): every request is
    recorded (headers and all) and forwarded as it came, unless ``divert`` answers it."""
    import http.client
    from urllib.parse import urlsplit

    seen: list[dict[str, str]] = []
    target = urlsplit(upstream)
    hop = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = b""
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return data

        def _answer(self) -> None:
            body = self._body()
            seen.append({"path": self.path, "method": self.command, **dict(self.headers.items())})
            diverted = divert(self.command, self.path)
            if diverted is not None:
                status, headers, data = diverted.status, diverted.headers, diverted.body
            else:
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                sent = {k: v for k, v in self.headers.items() if k.lower() not in hop}
                conn.request(self.command, self.path, body=body, headers=sent)
                got = conn.getresponse()
                data = got.read()
                status = got.status
                headers = {k: v for k, v in got.getheaders() if k.lower() not in hop}
                conn.close()
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(data))}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
