"""A real HTTP server on 127.0.0.1 for download tests: serves bytes, fails, stalls or trickles."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    """Serve ``files`` (URL path -> bytes) over HTTP; paths can be made to fail or to stall."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.statuses: dict[str, int] = {}
        self.stalled: set[str] = set()
        self.slow: dict[str, float] = {}
        self.requests: list[str] = []
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``path``; return its full URL."""
        self.files["/" + path.lstrip("/")] = data
        return f"{self.url}/{path.lstrip('/')}"

    def served(self, path: str) -> int:
        """Return how many GET requests asked for ``path``."""
        return self.requests.count("/" + path.lstrip("/"))

    def start(self) -> "FileServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                server.requests.append(path)
                if path in server.statuses:
                    self.send_error(server.statuses[path])
                    return
                if path not in server.files:
                    self.send_error(404)
                    return
                data = server.files[path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if path in server.stalled:
                    # Half the file, then silence: the client must give up by itself.
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    server.release.wait(60)
                    return
                if path in server.slow:
                    # Ten pieces over the given seconds, so that two clients overlap.
                    step = max(1, len(data) // 10)
                    for start in range(0, len(data), step):
                        self.wfile.write(data[start:start + step])
                        self.wfile.flush()
                        time.sleep(server.slow[path] / 10)
                    return
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler
