"""A fault-injecting HTTP proxy on loopback, in front of an OpenAI-compatible server.

Jobs reach the server through it (`engine.base_url`); it forwards each request and, on a
deterministic schedule over the chat-completion requests (every `every`-th one, the faults taken
in turn), answers badly instead, without forwarding:

- `THROTTLE`: 429 with `Retry-After` and OpenAI's error body;
- `UNAVAILABLE`: 503 with an error body;
- `DROP`: the connection is closed without an answer.

It records every chat-completion request it saw (when it arrived, a digest of its body, whether
it carried the expected key, what was answered), so a test can check that the faults happened,
that each faulted request came back, and that a Retry-After was waited for.
"""

from __future__ import annotations

import enum
import hashlib
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.faults.loopback import HOP_BY_HOP, LoopbackServer

UPSTREAM_TIMEOUT_S = 300.0
CHAT_PATH = "/chat/completions"


class Fault(enum.Enum):
    THROTTLE = "429"
    UNAVAILABLE = "503"
    DROP = "drop"


@dataclass(frozen=True)
class Exchange:
    """One chat-completion request the proxy saw, and what it did with it."""

    arrived: float  # time.monotonic()
    body: str  # sha256 of the request body: the same prompt asked again has the same one
    authorized: bool  # it carried the Authorization header the proxy expects
    outcome: str  # the upstream status, or the fault's value


class FaultProxy(LoopbackServer):
    """The proxy's schedule and what it saw (shared by its handler threads)."""

    def __init__(
        self,
        upstream: str,
        every: int,
        faults: tuple[Fault, ...],
        retry_after_s: int = 1,
        authorization: str | None = None,
    ) -> None:
        super().__init__(_Handler, "openai-fault-proxy")
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self.every = every
        self.faults = faults
        self.retry_after_s = retry_after_s
        self.authorization = authorization
        self.exchanges: list[Exchange] = []
        self._count = 0
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.address + "/v1"

    def decide(self) -> Fault | None:
        """The fault for the next chat-completion request, or None to forward it."""
        with self._lock:
            self._count += 1
            if self._count % self.every:
                return None
            return self.faults[(self._count // self.every - 1) % len(self.faults)]

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def outcomes(self) -> Counter[str]:
        with self._lock:
            return Counter(exchange.outcome for exchange in self.exchanges)


@contextmanager
def running_proxy(upstream: str, **schedule) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, **schedule)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive, as HTTP clients expect

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the proxy's exchanges are the log

    def do_GET(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        chat = self.command == "POST" and self.path.endswith(CHAT_PATH)
        fault = self.proxy.decide() if chat else None
        arrived = time.monotonic()
        if fault is Fault.DROP:
            self._record(chat, arrived, body, fault.value)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault is not None:
            self._record(chat, arrived, body, fault.value)
            self._answer_fault(fault)
            return
        try:
            status, reason, headers, data = self._forward(body)
        except OSError as exc:
            self._record(chat, arrived, body, f"upstream error: {exc}")
            self._answer(502, {"error": {"message": "the upstream server did not answer"}})
            return
        self._record(chat, arrived, body, str(status))
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, chat: bool, arrived: float, body: bytes, outcome: str) -> None:
        if not chat:
            return
        authorized = (
            self.proxy.authorization is None
            or self.headers.get("Authorization") == self.proxy.authorization
        )
        digest = hashlib.sha256(body).hexdigest()
        self.proxy.record(Exchange(arrived, digest, authorized, outcome))

    def _answer_fault(self, fault: Fault) -> None:
        if fault is Fault.THROTTLE:
            error = {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}
            self._answer(429, {"error": error}, {"Retry-After": str(self.proxy.retry_after_s)})
        else:
            self._answer(503, {"error": {"message": "The server is overloaded", "code": 503}})

    def _answer(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(
            self.proxy.upstream_host, self.proxy.upstream_port, timeout=UPSTREAM_TIMEOUT_S
        )
        try:
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
            }
            if body or self.command == "POST":
                headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            connection.close()
