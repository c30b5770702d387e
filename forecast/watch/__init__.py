"""`forecast watch`: a live preview of one scenario file.

Three parts, each in its own thread, joined here: the run thread (forecast.watch.runner)
samples the file whenever it is saved, keeping compiled models in this process; the HTTP server
(forecast.watch.server) serves the live page and the run's files on loopback; the file watcher
(watchfiles) tells the run thread about saves. The live state (forecast.watch.state) is what
they share.
"""

from __future__ import annotations

import threading
from pathlib import Path

from forecast.watch.page import render_page
from forecast.watch.runner import Echo, Runner
from forecast.watch.server import bind, is_loopback
from forecast.watch.state import LiveState

__all__ = ["LivePreview", "is_loopback"]


class LivePreview:
    """A watch of one scenario file: listening as soon as it is made, running on `start`.

    Raises OSError when the address cannot be listened on (a busy port is replaced by a free
    one: `moved_port` says so).
    """

    def __init__(
        self,
        file: str | Path,
        *,
        out_dir: str | Path = "reports",
        host: str = "127.0.0.1",
        port: int = 8000,
        paper: str = "a4",
        command: str = "forecast watch",
        echo: Echo | None = None,
    ) -> None:
        self.file = Path(file)
        self.state = LiveState(str(file))
        self.runner = Runner(
            self.file, Path(out_dir), self.state, command=command, paper=paper, echo=echo
        )
        self.server, self.moved_port = bind(
            host,
            port,
            page=render_page(file=str(file)),
            state=self.state,
            runner=self.runner,
        )
        self.host = host
        self._serving = False

    @property
    def url(self) -> str:
        host = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{host}:{self.server.port}/"

    def start(self) -> None:
        """Serve, and run the file once."""
        self.server.serve_in_thread()
        self._serving = True
        self.runner.start()

    def watch_file(self, stop: threading.Event | None = None) -> None:
        """Ask for a run at every change of the file, until `stop` is set (or Ctrl-C, in the
        main thread). The folder is watched, not the file: editors save by writing a new file
        and renaming it over the old one."""
        import watchfiles

        target = self.file.resolve()

        def is_the_file(change, path: str) -> bool:
            return Path(path).name == target.name

        for _changes in watchfiles.watch(
            target.parent,
            watch_filter=is_the_file,
            stop_event=stop,
            recursive=False,
            # Saves closer together than this reach the run thread as one.
            step=50,
        ):
            self.runner.request()

    def close(self) -> bool:
        """Stop serving (the port is free when this returns) and stop the run thread, waiting
        for a folder being written. Returns whether a sampling was abandoned."""
        self.state.stop()
        if self._serving:
            self.server.shutdown()
        self.server.server_close()
        return self.runner.stop()
