"""Reuse of analyses across snapshots whose inputs did not change (verifying traces).

An analysis is a function of what it reads of an Inventory (frames, `meta` values, the analyses
it calls through `Inventory.cached`) and of this code. `call(inv, key, compute)` runs `compute`
while recording a trace of those reads: each frame by its identity (the checksum the snapshot's
manifest gives its file, with the schema version; for the compact frames also the identity of
the images they are decoded against), each meta key by its value. A `Store` attached to the
inventory (`attach`) keeps the result with its trace; a later inventory reuses the result when
the trace holds there: every frame read has the same identity and every meta value read is
equal. (A verifying trace, as in Mokhov, Mitchell and Peyton Jones, "Build systems à la carte",
2018.) `trends` attaches one store to the snapshots of a history: policies, identities and the
organization rarely change from one day to the next, images do, so the access analyses are
computed once and the image analyses every day.

What a trace cannot see must never let a result be reused:
- a frame without an identity (an Inventory built in memory, a frame replaced) makes the trace
  unverifiable: it is never stored;
- an analysis cached on the inventory while nothing recorded has reads nobody knows: using it
  inside a traced computation makes that trace unverifiable;
- a reused result that reads its own inventory later (a closure over it) would read another
  snapshot inside this one's analysis: a read of a frame or meta value that differs from the
  running inventory's marks the store (`Store.conflict`) and raises `ReuseConflict`; the store's
  user then computes again without it (`trends.point`).
Inputs from outside the inventory (this code, the package's data, the environment) are the same
for every snapshot a process analyses: a store lives in one process and is never saved.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

STORE_ATTR = "_reuse_store"  # where `attach` puts the store on an Inventory (its __dict__)
ALL_KEYS = "\0all keys"  # a meta "key" read by iterating the whole mapping: the key set
_MISSING = object()
_local = threading.local()


class ReuseConflict(Exception):
    """A traced analysis read another inventory's frame or meta value that differs from its own."""


class Trace:
    """The reads of one traced computation on `inv`: frame name → identity, meta keys."""

    __slots__ = ("inv", "frames", "meta", "verifiable")

    def __init__(self, inv):
        self.inv = inv
        self.frames: dict[str, str] = {}
        self.meta: set[str] = set()
        self.verifiable = True


class _Entry:
    """A stored result: the frames' identities and the meta values (JSON) its computation read."""

    __slots__ = ("frames", "meta", "value")

    def __init__(self, frames: dict[str, str], meta: dict[str, str], value):
        self.frames, self.meta, self.value = frames, meta, value

    def holds(self, inv) -> bool:
        return all(_content_id(inv.frames, n) == i for n, i in self.frames.items()) and all(
            canonical(inv.meta, k) == v for k, v in self.meta.items()
        )


class Store:
    """Results of traced computations, the `keep` newest per key, for inventories it is attached to;
    a key none of the last `keep` snapshots attached before the current one put or reused is dropped."""

    def __init__(self, keep: int = 2):
        self.keep = keep
        self._entries: dict[str, list[_Entry]] = {}
        self._attached = 0  # inventories attached so far (`begin`)
        self._used: dict[str, int] = {}  # key → `_attached` when an answer was last put or reused
        self._frames: dict[tuple, tuple] = {}  # (name, content id) → (DataFrame, hints it left)
        self._frame_ids: dict[str, list[str]] = {}  # frame name → content ids kept, newest first
        self.hits = 0
        self.misses = 0
        # Why a traced computation read another snapshot's data ("" if never): the store then
        # reuses and keeps nothing, and what was computed with the conflict must be computed again.
        self.conflict = ""

    def frame(self, name: str, content_id: str):
        """(DataFrame, hints) of frame `name` read earlier from a file of this content, or None."""
        if self.conflict:
            return None
        return self._frames.get((name, content_id))

    def keep_frame(self, name: str, content_id: str, df, hints: dict) -> None:
        """Keep frame `name` as read from a file with this content (the newest `keep` per name)."""
        if self.conflict:
            return
        ids = self._frame_ids.setdefault(name, [])
        ids.insert(0, content_id)
        self._frames[(name, content_id)] = (df, hints)
        for old in ids[self.keep :]:
            self._frames.pop((name, old), None)
        del ids[self.keep :]

    def get(self, key: str, inv) -> _Entry | None:
        if self.conflict:
            return None
        for entry in self._entries.get(key, ()):
            if entry.holds(inv):
                self.hits += 1
                self._used[key] = self._attached
                return entry
        self.misses += 1
        return None

    def put(self, key: str, trace: Trace, value) -> None:
        if not trace.verifiable or self.conflict:
            return
        meta = {k: canonical(trace.inv.meta, k) for k in trace.meta}
        entries = self._entries.setdefault(key, [])
        entries.insert(0, _Entry(dict(trace.frames), meta, value))
        del entries[self.keep :]
        self._used[key] = self._attached

    def clear(self) -> None:
        """Let go of every answer and frame kept (the store stays usable)."""
        self._entries.clear()
        self._used.clear()
        self._frames.clear()
        self._frame_ids.clear()

    def begin(self) -> None:
        """Another inventory is attached: drop the answers of keys that none of the `keep` before it
        put or reused. A key naming one snapshot's time (`images.stale:<days>:<time>`) is asked by
        that snapshot only: kept, its answers would pile up over a history."""
        self._attached += 1
        for key in [k for k, n in self._used.items() if n < self._attached - self.keep]:
            del self._used[key]
            self._entries.pop(key, None)


def attach(inv, store: Store | None) -> None:
    """Analyses of `inv` run through `call` and `Inventory.cached` reuse from, and add to, `store`;
    so do its frames not yet read (a file of the same content is read once)."""
    inv.__dict__[STORE_ATTR] = store
    if store is not None:
        store.begin()
    if hasattr(inv.frames, "content_id"):
        inv.frames.reuse_store = store


def store_of(inv) -> Store | None:
    return inv.__dict__.get(STORE_ATTR)


def _stack() -> list[Trace]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def recording() -> bool:
    """True while a traced computation runs (in this thread)."""
    return bool(getattr(_local, "stack", None))


def canonical(meta, key: str) -> str:
    """The meta value under `key` as comparable text (JSON, keys sorted; ALL_KEYS: the key set)."""
    try:
        value = _raw(meta, key)
        if value is _MISSING:
            return "\0missing"
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):  # keys that cannot be sorted (meta built in memory, not loaded)
        return f"\0not comparable #{next(_UNIQUE)}"  # equal to nothing: never reused


_UNIQUE = itertools.count()


def _raw(meta, key: str):
    return sorted(dict.keys(meta)) if key == ALL_KEYS else dict.get(meta, key, _MISSING)


def _content_id(frames, name: str) -> str | None:
    """`Frames.content_id`; None for frames that have none (a plain dict)."""
    return frames.content_id(name) if hasattr(frames, "content_id") else None


def _conflict(trace: Trace, what: str) -> None:
    store = store_of(trace.inv)
    why = f"a traced analysis read {what} that differs from the analysed snapshot's"
    if store is not None and not store.conflict:
        store.conflict = why  # nothing is reused or stored from now on
        store.clear()
    raise ReuseConflict(why)


def frame_read(frames, name: str) -> None:
    """Record that frame `name` of `frames` (or its row count, or a hint decoded from it) was read."""
    stack = getattr(_local, "stack", None)
    if not stack:
        return
    trace = stack[-1]
    identity = _content_id(frames, name)
    if frames is not trace.inv.frames and _content_id(trace.inv.frames, name) != identity:
        _conflict(trace, f"frame {name!r} of another inventory")
    if identity is None:
        trace.verifiable = False
    else:
        trace.frames[name] = identity


def meta_read(meta, key: str) -> None:
    """Record that `meta[key]` (ALL_KEYS: the whole mapping) was read."""
    stack = getattr(_local, "stack", None)
    if not stack:
        return
    trace = stack[-1]
    own = trace.inv.meta
    if meta is not own and _raw(meta, key) != _raw(own, key):
        _conflict(trace, f"meta {key!r} of another inventory")
    trace.meta.add(key)


def _merge(frames: dict[str, str], meta: Iterable[str], verifiable: bool, source) -> None:
    """Add reads made on inventory `source` to the running trace (if any)."""
    stack = getattr(_local, "stack", None)
    if not stack:
        return
    trace = stack[-1]
    if source is not trace.inv:  # reads of another inventory count only where they agree
        for name, ident in frames.items():
            if _content_id(trace.inv.frames, name) != ident:
                _conflict(trace, f"frame {name!r} of another inventory")
        for key in meta:
            if _raw(source.meta, key) != _raw(trace.inv.meta, key):
                _conflict(trace, f"meta {key!r} of another inventory")
    trace.frames.update(frames)
    trace.meta.update(meta)
    trace.verifiable = trace.verifiable and verifiable


def used(inv, trace: Trace | None) -> None:
    """A result computed earlier on `inv` (None: the running trace's inventory) with `trace` (None:
    computed while nothing recorded) is used again: the running trace depends on what it read."""
    stack = getattr(_local, "stack", None)
    if not stack:
        return
    if trace is None:
        stack[-1].verifiable = False
        return
    _merge(trace.frames, trace.meta, trace.verifiable, stack[-1].inv if inv is None else inv)


def traced(inv, key: str | None, compute: Callable[[], Any]) -> tuple[Any, Trace | None]:
    """(compute(), its trace), or a stored result when `inv`'s store holds one for `key` whose trace
    holds for `inv`. Untraced ((compute(), None)) when `inv` has no store and nothing records. The
    trace returned does not hold on to `inv` (it is kept beside results cached on it)."""
    store = store_of(inv)
    if store is None and not recording():
        return compute(), None
    if store is not None and key is not None:
        entry = store.get(key, inv)
        if entry is not None:
            trace = Trace(None)
            trace.frames, trace.meta = dict(entry.frames), set(entry.meta)
            _merge(trace.frames, trace.meta, True, inv)
            return entry.value, trace
    trace = Trace(inv)
    stack = _stack()
    try:
        stack.append(trace)  # inside the try: an interrupt cannot leave it on the stack
        value = compute()
    finally:
        if stack and stack[-1] is trace:
            stack.pop()
        # The caller depends on these reads even when compute raised: it may recover and go on.
        _merge(trace.frames, trace.meta, trace.verifiable, inv)
    if store is not None and key is not None:
        store.put(key, trace, value)
    trace.inv = None
    return value, trace


def within(compute: Callable[[], Any]) -> tuple[Any, Trace | None]:
    """(compute(), its trace) inside a traced computation (of its inventory), else (compute(), None)."""
    stack = getattr(_local, "stack", None)
    if not stack:
        return compute(), None
    return traced(stack[-1].inv, None, compute)


def call(inv, key: str, compute: Callable[[], Any]) -> Any:
    """compute(), or the result of an earlier snapshot's compute under `key` when everything it
    read is the same in `inv` (`key` names the computation and every argument it takes besides inv)."""
    return traced(inv, key, compute)[0]


__all__ = ["ReuseConflict", "Store", "attach", "call", "recording", "store_of", "traced", "used", "within"]
