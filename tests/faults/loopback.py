"""A threaded HTTP server on a free loopback port, for the fault proxies the tests put between
the job and a real server (S3, an OpenAI-compatible API): one place starts and stops them."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Headers that belong to one connection, never forwarded (RFC 9110, 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
}


class LoopbackServer:
    """Serves `handler` (whose requests see this object as `self.proxy`) until `stop`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], thread_name: str) -> None:
        self.handler = handler
        self.thread_name = thread_name
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """`http://127.0.0.1:<port>` of the running server."""
        assert self._server is not None, "the proxy is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        handler = type("Handler", (self.handler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.thread_name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
