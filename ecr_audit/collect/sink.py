"""Where a collection's rows go: thread-safe row lists per frame, plus live progress counters."""

from __future__ import annotations

import threading


class Sink:
    """Thread-safe row lists per frame, plus live counters for progress."""

    def __init__(self, progress=None):
        self.rows: dict[str, list] = {}
        self._lock = threading.Lock()
        self._progress = progress
        self.counts = {"units_total": 0, "units_done": 0, "repositories": 0, "images": 0, "errors": 0}

    def add(self, frame: str, rows) -> None:
        rows = list(rows)
        if not rows:
            return
        with self._lock:
            self.rows.setdefault(frame, []).extend(rows)
            if frame == "errors":
                self.counts["errors"] += len(rows)

    def bump(self, event: str, about: dict | None = None, **counts) -> None:
        """Add `counts` to the live counters and tell the progress callback; `about` describes what
        the event is about (the account and region of a finished unit), under the key "about"."""
        with self._lock:
            for k, v in counts.items():
                self.counts[k] += v
            snapshot = {"event": event, **self.counts}
        if about is not None:
            snapshot["about"] = about
        if self._progress is not None:
            self._progress(snapshot)
