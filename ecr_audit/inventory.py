"""`Inventory`: the collected frames of one snapshot plus its provenance (`meta`)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import reuse, schema


class Frames(MutableMapping):
    """Frame name → DataFrame, in schema order. A frame may start as a loader that runs on first
    access (a snapshot reads only the frames an analysis touches); `rows` answers without loading.

    `version` changes whenever a frame is replaced, which drops what was cached from the old one
    (`Inventory.cached`), including `hints` a loader left for the key computations.

    `content_id(name)`: what frame `name` is, as text that differs whenever its content may (a
    snapshot gives its file's checksum); None when unknown (built in memory, replaced). Reads are
    recorded for `reuse`."""

    def __init__(self, frames=None, loaders=None, rows=None, content_ids=None):
        self._frames = dict(frames or {})
        self._loaders = dict(loaders or {})
        self._rows = dict(rows or {})
        self._content_ids = dict(content_ids or {})
        self.hints: dict[str, Any] = {}
        self.version = 0

    def content_id(self, name: str) -> str | None:
        return self._content_ids.get(name)

    def __getitem__(self, name: str) -> pd.DataFrame:
        reuse.frame_read(self, name)
        if name not in self._frames:
            loader = self._loaders[name]  # KeyError for an unknown frame, as a dict would
            store, content_id = self.__dict__.get("reuse_store"), self.content_id(name)
            kept = store.frame(name, content_id) if store is not None and content_id else None
            if kept is not None:  # the same file content, read for an earlier snapshot
                df, hints = kept
                self.hints.update(hints)
            else:
                df = loader()
                if store is not None and content_id:
                    mine = {k: v for k, v in self.hints.items() if k.split(".")[0] == name}
                    store.keep_frame(name, content_id, df, mine)
            self._frames[name] = df
            del self._loaders[name]
        return self._frames[name]

    def lazy(self, name: str, loader: Callable[[], pd.DataFrame]) -> None:
        """Make frame `name` the result of `loader()`, called on first access."""
        self._frames.pop(name, None)
        self._loaders[name] = loader

    def __setitem__(self, name: str, df: pd.DataFrame) -> None:
        # Pending frames may decode against the current ones (image rows): load them first.
        for pending in list(self._loaders):
            self[pending]
        self._frames[name] = df
        self._loaders.pop(name, None)
        self.hints.clear()
        self._content_ids.clear()  # compact frames decode against images: no identity is known now
        self.version += 1

    def __delitem__(self, name: str) -> None:
        raise TypeError("an Inventory always has every frame; replace it instead")

    def __iter__(self):
        names = set(self._frames) | set(self._loaders)
        return iter([n for n in schema.FRAMES if n in names] + sorted(names - set(schema.FRAMES)))

    def __len__(self) -> int:
        return len(set(self._frames) | set(self._loaders))

    def __getstate__(self) -> dict:
        # Loaders are closures over files: pickling (or copying) reads every frame first.
        for name in list(self._loaders):
            self[name]
        return self.__dict__.copy()

    def is_loaded(self, name: str) -> bool:
        return name in self._frames

    def rows(self, name: str) -> int:
        """Row count of frame `name`, without loading it when the count is known."""
        reuse.frame_read(self, name)
        if name not in self._loaders or name not in self._rows:
            return len(self[name])
        return int(self._rows[name])


class Meta(dict):
    """`Inventory.meta`: a dict whose reads are recorded for `reuse` (a key read: its value; the
    mapping iterated or compared: every key)."""

    def __getitem__(self, key):
        reuse.meta_read(self, key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        reuse.meta_read(self, key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        reuse.meta_read(self, key)
        return super().__contains__(key)

    def _all(self) -> None:
        reuse.meta_read(self, reuse.ALL_KEYS)
        for key in dict.keys(self):
            reuse.meta_read(self, key)

    def __iter__(self):
        self._all()
        return super().__iter__()

    def keys(self):
        self._all()
        return super().keys()

    def items(self):
        self._all()
        return super().items()

    def values(self):
        self._all()
        return super().values()

    def __len__(self) -> int:
        reuse.meta_read(self, reuse.ALL_KEYS)
        return super().__len__()

    def __eq__(self, other) -> bool:
        self._all()
        return super().__eq__(other)

    def __ne__(self, other) -> bool:
        self._all()
        return super().__ne__(other)

    def __or__(self, other):
        self._all()
        return super().__or__(other)

    __hash__ = None

    def copy(self) -> dict:
        self._all()
        return dict(super().items())


@dataclass
class Inventory:
    """All frames of one collection. Every frame in `schema.FRAMES` is present (possibly empty).

    `meta` is the provenance written to manifest.json: collected_at, caller, organization,
    accounts, regions, options, completeness, source. Analyses read frames and `meta`, never AWS.
    `ecr_audit.save(inv, path)` writes it as a snapshot, `ecr_audit.load(path)` reads one.

    Frames are immutable after construction: analyses cache what they derive from them on the
    Inventory (`cached`), so changing a frame in place would leave stale results behind. Build a
    new Inventory instead.
    """

    frames: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)

    def __setattr__(self, name: str, value) -> None:
        if name == "meta" and not isinstance(value, Meta):
            value = Meta(value)  # its reads are recorded (reuse)
        super().__setattr__(name, value)

    def __post_init__(self):
        unknown = set(self.frames) - set(schema.FRAMES)
        if unknown:
            raise ValueError(f"unknown frames: {sorted(unknown)}")
        self.frames = Frames({name: schema.conform(name, self.frames.get(name)) for name in schema.FRAMES})

    @classmethod
    def from_conformed(cls, frames, meta: dict[str, Any]) -> Inventory:
        """Wrap frames that already passed `schema.conform` (every frame present; a `Frames` may
        hold loaders that conform on first access) without re-casting."""
        missing = set(schema.FRAMES) - set(frames)
        if missing:
            raise ValueError(f"missing frames: {sorted(missing)}")
        inv = cls.__new__(cls)
        inv.frames = frames if isinstance(frames, Frames) else Frames(frames)
        inv.meta = Meta(meta)
        return inv

    @classmethod
    def from_frames(cls, meta: dict[str, Any] | None = None, **frames) -> Inventory:
        """Build from any subset of frames (records or DataFrames); the rest are empty."""
        return cls(frames=frames, meta=dict(meta or {}))

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """`compute()` once per Inventory under `name`, then the same object (do not mutate it).
        `name` names the computation and every argument it takes besides the inventory: with a
        `reuse` store attached, an earlier snapshot's result under `name` is used when everything
        its computation read is the same here."""
        # Replacing a frame (not recommended either) drops everything cached.
        frames = self.frames
        stamp = (
            (id(frames), frames.version)
            if isinstance(frames, Frames)
            else tuple(id(df) for df in frames.values())
        )
        if self.__dict__.get("_cache_stamp") != stamp:
            self.__dict__["_cache"], self.__dict__["_cache_stamp"] = {}, stamp
            self.__dict__["_cache_traces"] = {}
        cache, traces = self.__dict__["_cache"], self.__dict__["_cache_traces"]
        if name not in cache:
            cache[name], traces[name] = reuse.traced(self, name, compute)
        else:
            reuse.used(self, traces.get(name))
        return cache[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in schema.FRAMES and name in frames:
            return frames[name]
        raise AttributeError(name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.frames))

    # Convenience views used by several analyses -------------------------------------------
    @property
    def organization_id(self) -> str | None:
        return (self.meta.get("organization") or {}).get("id")

    @property
    def org_account_ids(self) -> set[str]:
        """Accounts known to belong to the organization (empty set when no organization was read)."""
        org = self.meta.get("organization") or {}
        return set(org.get("account_ids") or [])

    def counts(self) -> dict[str, int]:
        frames = self.frames
        if not isinstance(frames, Frames):
            return {name: len(df) for name, df in frames.items()}
        return {name: frames.rows(name) for name in frames}

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"Inventory(accounts={c['accounts']}, repositories={c['repositories']}, "
            f"images={c['images']}, errors={c['errors']})"
        )
