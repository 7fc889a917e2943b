"""Progress events of a collection and a one-line stderr reporter for terminals."""
from __future__ import annotations

import sys
import threading


class StderrProgress:
    """Pass as `collect(progress=StderrProgress())`: one updating line, only when stderr is a TTY."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._lock = threading.Lock()

    def __call__(self, event: dict) -> None:
        if not self.enabled:
            return
        with self._lock:
            if event.get("event") == "done":
                self.stream.write("\r\033[K")
            else:
                self.stream.write(
                    "\r\033[Kecr-audit: units {units_done}/{units_total}  repositories {repositories}  "
                    "images {images}  errors {errors}".format(**{k: event.get(k, 0) for k in (
                        "units_done", "units_total", "repositories", "images", "errors")}))
            self.stream.flush()
