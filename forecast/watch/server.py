"""The live preview's HTTP server: the standard library's, serving a fixed list of pages.

Safety, in the order a request meets it:

- only GET and HEAD; any other method gets 405, so no request can change the file or the results;
- on a loopback address, a request naming another host (a web page that rebinds its own domain
  name to this machine) gets 403;
- the path, percent-decoded once, must be one of the names in `ROUTES`: nothing is looked up on
  disk by a name from the request, so `..`, an encoded traversal or an absolute path can only
  ever be "not one of these" and get 404;
- nothing from a request is executed or passed to a program; the run's files are read from the
  folder the watch writes, by fixed names.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from forecast.watch.runner import Runner, Stopped
from forecast.watch.state import LiveState

# A comment line on an idle event stream this often, so that a closed page is noticed.
KEEPALIVE_SECONDS = 15
# path -> (what it is, media type)
ROUTES = {
    "/": ("page", "text/html; charset=utf-8"),
    "/state.json": ("state", "application/json"),
    "/events": ("events", "text/event-stream"),
    "/summary.json": ("summary", "application/json"),
    "/report.html": ("file", "text/html; charset=utf-8"),
    "/scenario.yaml": ("file", "text/plain; charset=utf-8"),
    "/posterior.nc": ("file", "application/x-netcdf"),
    "/report.pdf": ("pdf", "application/pdf"),
}
# The live page runs its one inline script and talks to this server only; the report runs
# nothing and may only be framed by the live page.
PAGE_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; frame-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address to listen on) is this machine only."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class PreviewServer(ThreadingHTTPServer):
    """Serves the live page, its data and the run's files; one thread per request."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], *, page: bytes, state: LiveState, runner: Runner
    ) -> None:
        host = address[0]
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
            address = (host.strip("[]"), address[1])
        self.page, self.state, self.runner = page, state, runner
        self.loopback_only = is_loopback(host)
        super().__init__(address, PreviewHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        """A request that failed: a closed connection is nothing to report; anything else is
        one line on stderr, never a traceback."""
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        print(
            f"internal error answering a request: {type(error).__name__}: {error}", file=sys.stderr
        )

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="forecast-watch-http",
            daemon=True,
        )
        thread.start()
        return thread


def bind(host: str, port: int, **parts) -> tuple[PreviewServer, bool]:
    """A server listening on host:port, or on a free port if that one is busy; returns it and
    whether it had to take another port.

    Raises OSError when the address cannot be listened on for another reason.
    """
    try:
        return PreviewServer((host, port), **parts), False
    except OSError as error:
        if port == 0 or error.errno != errno.EADDRINUSE:
            raise
    return PreviewServer((host, 0), **parts), True


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "forecast-watch"
    sys_version = ""
    # A connection that sends nothing for this long is dropped, so that it holds no thread.
    timeout = 30

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def __getattr__(self, name: str):
        # http.server looks up do_<METHOD>: every method but GET and HEAD is refused alike.
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def _refuse_method(self) -> None:
        self._with_body = True
        self._send_text(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "405 method not allowed: this server only answers GET and HEAD\n",
            headers={"Allow": "GET, HEAD"},
        )

    def log_message(self, format, *args) -> None:
        """No line per request: the terminal is for the runs."""

    # -- routing ---------------------------------------------------------------------------

    def _answer(self, *, with_body: bool) -> None:
        self._with_body = with_body
        if self.server.loopback_only and not self._host_is_loopback():
            self._send_text(
                HTTPStatus.FORBIDDEN,
                "403 forbidden: this preview answers only to localhost and 127.0.0.1\n",
            )
            return
        route = ROUTES.get(self._route_path())
        if route is None:
            self._send_text(HTTPStatus.NOT_FOUND, "404 not found\n")
            return
        kind, media_type = route
        if kind == "page":
            self._send(HTTPStatus.OK, self.server.page, media_type, policy=PAGE_POLICY)
        elif kind == "state":
            self._send(HTTPStatus.OK, self.server.state.snapshot_json(), media_type)
        elif kind == "events":
            self._stream_events()
        elif kind == "summary":
            run = self.server.state.last_run
            if run is None:
                self._not_yet()
            else:
                self._send(HTTPStatus.OK, run.summary_json, media_type)
        elif kind == "file":
            self._send_run_file(self._route_path().lstrip("/"), media_type)
        else:
            self._send_pdf(media_type)

    def _route_path(self) -> str:
        """The request's path, percent-decoded once; "" for anything not of the form /...."""
        target = self.path
        # Only a path: an absolute URL ("http://host/..."), "*" or "//host/..." is no page here.
        if not target.startswith("/") or target.startswith("//"):
            return ""
        path = target.split("?", 1)[0].split("#", 1)[0]
        try:
            return unquote(path, errors="strict")
        except UnicodeDecodeError:  # percent-encoded bytes that are not UTF-8: no name of ours
            return ""

    def _host_is_loopback(self) -> bool:
        host = self.headers.get("Host")
        if host is None:  # HTTP/1.0 without Host: not a browser, so not a rebinding page
            return True
        if host.startswith("["):  # [::1]:8000
            name = host[1 : host.find("]")] if "]" in host else host
        else:  # 127.0.0.1:8000, localhost
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return is_loopback(name)

    # -- answers ---------------------------------------------------------------------------

    def _send_run_file(self, name: str, media_type: str) -> None:
        folder = self.server.runner.run_dir
        if folder is None:
            self._not_yet()
            return
        try:
            body = (folder / name).read_bytes()
        except FileNotFoundError:
            # Between the two renames of a folder being swapped in, or a run without the file.
            self._not_yet()
            return
        extra = {}
        if name == "posterior.nc":
            extra["Content-Disposition"] = 'attachment; filename="posterior.nc"'
        policy = REPORT_POLICY if name == "report.html" else None
        self._send(HTTPStatus.OK, body, media_type, policy=policy, headers=extra)

    def _send_pdf(self, media_type: str) -> None:
        from forecast.errors import ForecastError

        if not self._with_body:
            # A HEAD must not cost a PDF: say what a GET would send, without drawing it.
            status = HTTPStatus.OK if self.server.runner.run_dir else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(status, b"", media_type)
            return
        try:
            body = self.server.runner.render_pdf()
        except Stopped:
            self._send_text(HTTPStatus.SERVICE_UNAVAILABLE, "503 the watch is stopping\n")
            return
        except ForecastError as error:
            self._send_text(HTTPStatus.INTERNAL_SERVER_ERROR, f"500 the PDF failed: {error}\n")
            return
        except Exception as error:  # a bug: one line to the browser, as the command line says it
            self._send_text(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"500 internal error drawing the PDF: {type(error).__name__}: {error}\n",
            )
            return
        if body is None:
            self._not_yet()
            return
        self._send(
            HTTPStatus.OK,
            body,
            media_type,
            headers={"Content-Disposition": 'inline; filename="report.pdf"'},
        )

    def _stream_events(self) -> None:
        """Server-sent events: the state now, then again whenever it changes."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not self._with_body:
            return
        state, seen = self.server.state, None
        try:
            # A page that loses the stream asks again after a second.
            self.wfile.write(b"retry: 1000\n\n")
            while not state.stopped:
                version = state.wait_for_change(
                    -1 if seen is None else seen, timeout=KEEPALIVE_SECONDS
                )
                if version == seen:
                    self.wfile.write(b": still watching\n\n")
                else:
                    snapshot = state.snapshot_json()
                    self.wfile.write(b"data: " + snapshot + b"\n\n")
                    seen = version
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return  # the page was closed or reloaded

    def _not_yet(self) -> None:
        self._send_text(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "503 no good run yet: the page says what the watch is doing\n",
            headers={"Retry-After": "1"},
        )

    def _send_text(self, status: HTTPStatus, text: str, headers: dict | None = None) -> None:
        self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers=headers)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        media_type: str,
        *,
        policy: str | None = None,
        headers: dict | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        # Always the newest: a saved file must never be answered by the browser's cache.
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if policy is not None:
            self.send_header("Content-Security-Policy", policy)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self._with_body and body:
            self.wfile.write(body)
