"""Progress events of a collection and a one-line stderr reporter for terminals."""

from __future__ import annotations

import sys
import threading


class StderrProgress:
    """Pass as `collect(progress=StderrProgress())`: one updating line, only when stderr is a TTY.

    `verbose=True` writes a plain line per finished account × region unit instead, whatever the
    stream is (for logs of scheduled runs)."""

    FIELDS = ("units_done", "units_total", "repositories", "images", "errors")

    def __init__(self, stream=None, verbose: bool = False):
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.enabled = verbose or bool(getattr(self.stream, "isatty", lambda: False)())
        self._lock = threading.Lock()

    def __call__(self, event: dict) -> None:
        if not self.enabled:
            return
        counts = {k: event.get(k, 0) for k in self.FIELDS}
        with self._lock:
            if self.verbose:
                if event.get("event") in ("unit_done", "done"):
                    self.stream.write(
                        "ecr-audit: {ev} units {units_done}/{units_total} repositories {repositories} "
                        "images {images} errors {errors}\n".format(ev=event.get("event"), **counts)
                    )
            elif event.get("event") == "done":
                self.stream.write("\r\033[K")
            else:
                self.stream.write(
                    "\r\033[Kecr-audit: units {units_done}/{units_total}  repositories {repositories}  "
                    "images {images}  errors {errors}".format(**counts)
                )
            self.stream.flush()
