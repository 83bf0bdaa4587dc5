"""A fault-injecting HTTP proxy on loopback, in front of an S3-compatible server.

Jobs reach it through `storage.endpoint_url`; it forwards each request to the server and, when
a rule the test set matches the request (method, a regular expression searched in the decoded
path, optionally a header it must carry), answers it badly instead:

- `SLOW_DOWN`: 503 with S3's `SlowDown` error, the request is not forwarded;
- `LAND_THEN_500`: the request is forwarded (a PUT lands) but answered 500 `InternalError`;
- `FAIL_500`: 500 `InternalError`, the request is not forwarded;
- `CUT_BODY`: the request is forwarded, the answer's headers go out with the full
  Content-Length, half its body follows, then the connection is closed.

A rule lets its first `skip` matching requests through and faults the next `times` (every one
after, with `times=None`); it counts what it matched and what it injected, so a test can check
that the fault really happened.
"""

from __future__ import annotations

import enum
import http.client
import re
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.faults.loopback import HOP_BY_HOP, LoopbackServer

UPSTREAM_TIMEOUT_S = 30.0


class Fault(enum.Enum):
    SLOW_DOWN = "slow-down"
    LAND_THEN_500 = "land-then-500"
    FAIL_500 = "fail-500"
    CUT_BODY = "cut-body"


@dataclass
class Rule:
    fault: Fault
    method: str
    path: str  # a regular expression, searched in the request's decoded path (and query)
    header: str | None = None  # a request header the request must carry
    skip: int = 0
    times: int | None = 1
    matched: int = 0
    injected: int = 0
    #: the paths of the requests faulted, in order
    hits: list[str] = field(default_factory=list)

    def matches(self, method: str, path: str, headers: dict[str, str]) -> bool:
        return (
            method == self.method
            and re.search(self.path, path) is not None
            and (self.header is None or self.header.lower() in headers)
        )

    def take(self) -> bool:
        """Count one matching request; True when this one is to be faulted."""
        self.matched += 1
        if self.matched <= self.skip:
            return False
        if self.times is not None and self.injected >= self.times:
            return False
        self.injected += 1
        return True


@dataclass(frozen=True)
class Exchange:
    """One request the proxy saw, and what it did with it."""

    method: str
    path: str
    copy_source: str | None
    outcome: str  # the upstream status, or the fault's name


class FaultProxy(LoopbackServer):
    """The proxy's state: its rules and the exchanges it saw (shared by its handler threads)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(_Handler, "s3-fault-proxy")
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self.rules: list[Rule] = []
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        return self.address

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """No more faults (the rules' counts stay with the Rule objects the test holds)."""
        with self._lock:
            self.rules = []

    @property
    def injected(self) -> int:
        with self._lock:
            return sum(rule.injected for rule in self.rules)

    def seen(self, method: str, pattern: str) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.method == method and re.search(pattern, e.path)]

    def decide(self, method: str, path: str, headers: dict[str, str]) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, headers) and rule.take():
                    rule.hits.append(path)
                    return rule
        return None

    def give_back(self, rule: Rule) -> None:
        """The fault `rule` was taken for could not be injected (a body too short to cut)."""
        with self._lock:
            rule.injected -= 1
            rule.hits.pop()

    def record(self, method: str, path: str, headers: dict[str, str], outcome: str) -> None:
        source = headers.get("x-amz-copy-source")
        with self._lock:
            self.exchanges.append(
                Exchange(method, path, urllib.parse.unquote(source) if source else None, outcome)
            )


@contextmanager
def running_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def s3_error(code: str, message: str, resource: str) -> bytes:
    request_id = uuid.uuid4().hex[:16].upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{resource}</Resource><RequestId>{request_id}</RequestId></Error>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect of S3

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every answer back ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the proxy's own exchanges list is the log

    def do_GET(self) -> None:
        self._relay()

    def do_HEAD(self) -> None:
        self._relay()

    def do_PUT(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def do_DELETE(self) -> None:
        self._relay()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _relay(self) -> None:
        method = self.command
        body = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = urllib.parse.unquote(self.path)
        rule = self.proxy.decide(method, path, headers)
        fault = rule.fault if rule else None
        if fault in (Fault.SLOW_DOWN, Fault.FAIL_500):
            self.proxy.record(method, path, headers, fault.value)
            if fault is Fault.SLOW_DOWN:
                self._answer_error(503, "SlowDown", "Please reduce your request rate.", path)
            else:
                self._answer_error(500, "InternalError", "We encountered an internal error.", path)
            return
        try:
            status, reason, response_headers, response_body = self._forward(method, body)
        except OSError as exc:
            self.proxy.record(method, path, headers, f"upstream error: {exc}")
            self._answer_error(502, "BadGateway", "The upstream server did not answer.", path)
            return
        if fault is Fault.LAND_THEN_500:
            self.proxy.record(method, path, headers, f"{fault.value} (upstream {status})")
            self._answer_error(500, "InternalError", "We encountered an internal error.", path)
            return
        no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
        cut = fault is Fault.CUT_BODY and not no_body and len(response_body) > 1
        if rule is not None and fault is Fault.CUT_BODY and not cut:
            self.proxy.give_back(rule)
        self.proxy.record(method, path, headers, fault.value if cut else str(status))
        self.send_response_only(status, reason)
        for name, value in response_headers:
            lowered = name.lower()
            if lowered in HOP_BY_HOP or (lowered == "content-length" and not no_body):
                continue
            self.send_header(name, value)
        if not no_body:
            self.send_header("Content-Length", str(len(response_body)))
        if cut:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response_body[: len(response_body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.end_headers()
        if not no_body:
            self.wfile.write(response_body)

    def _forward(self, method: str, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(
            self.proxy.upstream_host, self.proxy.upstream_port, timeout=UPSTREAM_TIMEOUT_S
        )
        try:
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
            }
            if body or method in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            connection.request(method, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, response.reason, response.getheaders(), data
        finally:
            connection.close()

    def _answer_error(self, status: int, code: str, message: str, resource: str) -> None:
        data = b"" if self.command == "HEAD" else s3_error(code, message, resource)
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-amz-request-id", uuid.uuid4().hex[:16].upper())
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
