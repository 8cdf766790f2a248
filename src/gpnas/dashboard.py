"""A live view of a study: ``gpnas dashboard NAME`` serves the report's page, redrawn as trials finish, with the
trials running now, and reloads itself in the browser every few seconds.

The page is the HTML report (:func:`gpnas.report.write_report`) plus a status block; it is redrawn only when the
study changed (trials finished, failed or started), at most once per request.  The server is Python's own
``http.server`` on one port of this machine (``127.0.0.1`` unless ``--host`` says otherwise).
"""

from __future__ import annotations

import html
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gpnas.report import write_report
from gpnas.space import compact_arch
from gpnas.study import load_study


class LiveReport:
    """The report of study ``name`` in ``storage``, redrawn into a temporary folder whenever the study changed."""

    def __init__(self, name: str, storage: str, refresh_seconds: float = 5.0) -> None:
        self.name, self.storage, self.refresh_seconds = name, storage, refresh_seconds
        self.folder = Path(tempfile.mkdtemp(prefix="gpnas-dashboard-"))
        self._lock = threading.Lock()
        self._state: tuple | None = None
        self._page = ""

    def page(self) -> str:
        """The page as of now (redrawn if the study changed since the last request)."""
        with self._lock:
            study = load_study(self.name, self.storage)
            running = study.trials_in("running")
            state = (len(study.trials_in("done")), len(study.trials_in("failed")), tuple(t.number for t in running))
            if state != self._state:
                report = write_report(study, self.folder).read_text()
                self._page = self._with_status(report, study, running)
                self._state = state
            return self._page

    def _with_status(self, report: str, study, running) -> str:
        now = time.strftime("%H:%M:%S")
        rows = "".join(
            f"<tr><td>{t.number}</td><td><code>{html.escape(compact_arch(t.params))}</code></td>"
            f"<td>{time.time() - t.started:.0f} s</td><td>{html.escape(str(t.worker or ''))}</td></tr>"
            for t in running if t.started)
        table = ("<table><tr><th>trial</th><th>architecture</th><th>running for</th><th>worker</th></tr>"
                 f"{rows}</table>") if rows else "<p>No trial is running.</p>"
        status = (f'<section id="live"><h2>Live</h2><p id="counts" data-done="{len(study.trials_in("done"))}" '
                  f'data-running="{len(running)}">{len(study.trials_in("done"))} done, '
                  f'{len(study.trials_in("failed"))} failed, {len(running)} running; page drawn at {now}, reloads '
                  f'every {self.refresh_seconds:g} s.</p>{table}</section>')
        meta = f'<meta http-equiv="refresh" content="{self.refresh_seconds:g}">'
        return report.replace("<head>", "<head>" + meta, 1).replace("<body>", "<body>" + status, 1)

    def file(self, name: str) -> bytes | None:
        """A figure of the current page (``None`` when there is no such file)."""
        path = (self.folder / name).resolve()
        if path.parent != self.folder.resolve() or not path.is_file():
            return None
        return path.read_bytes()


def serve(live: LiveReport, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """An HTTP server for ``live`` (call ``serve_forever`` on it, or ``shutdown`` to stop it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            if self.path in ("/", "/index.html"):
                body, kind = live.page().encode(), "text/html; charset=utf-8"
            else:
                body, kind = live.file(self.path.lstrip("/")), "image/png"
                if body is None:
                    self.send_error(404)
                    return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # quiet: the terminal shows the address once
            pass

    return ThreadingHTTPServer((host, port), Handler)
