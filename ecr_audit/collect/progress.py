"""Progress events of a collection and a one-line stderr reporter for terminals."""

from __future__ import annotations

import sys
import threading


class StderrProgress:
    """Pass as `collect(progress=StderrProgress())`: one updating line, only when stderr is a TTY.

    `verbose=True` writes a plain line instead, whatever the stream is (for logs of scheduled runs):
    one per finished account × region unit and per account that could not be collected, naming
    the account and region, and a last one with the totals."""

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
                line = self._line(event, counts)
                if line:
                    self.stream.write(f"ecr-audit: {line}\n")
            elif event.get("event") == "done":
                self.stream.write("\r\033[K")
            else:
                self.stream.write(
                    "\r\033[Kecr-audit: units {units_done}/{units_total}  repositories {repositories}  "
                    "images {images}  errors {errors}".format(**counts)
                )
            self.stream.flush()

    @staticmethod
    def _line(event: dict, counts: dict) -> str | None:
        about = event.get("about") or {}
        kind = event.get("event")
        if kind == "unit_done":
            reason = f" ({about['reason']})" if about.get("reason") else ""
            return (
                f"{about.get('account_id')} {about.get('region')}: {about.get('status')}{reason}, "
                f"{about.get('repositories', 0)} repositories, {about.get('images', 0)} images, "
                f"{about.get('errors', 0)} errors (units {counts['units_done']}/{counts['units_total']})"
            )
        if kind == "account_done":
            reason = f" ({about['skip_reason']})" if about.get("skip_reason") else ""
            return f"{about.get('account_id')}: {about.get('collection_status')}{reason}"
        if kind == "done":
            return (
                "done: units {units_done}/{units_total}, repositories {repositories}, images {images}, "
                "errors {errors}".format(**counts)
            )
        return None
