"""`Inventory`: the collected frames of one snapshot plus its provenance (`meta`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from . import schema


@dataclass
class Inventory:
    """All frames of one collection. Every frame in `schema.FRAMES` is present (possibly empty).

    `meta` is the provenance written to manifest.json: collected_at, caller, organization,
    accounts, regions, options, completeness, source. Analyses read frames and `meta`, never AWS.

    Frames are immutable after construction: analyses cache what they derive from them on the
    Inventory (`cached`), so changing a frame in place would leave stale results behind. Build a
    new Inventory instead.
    """

    frames: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        unknown = set(self.frames) - set(schema.FRAMES)
        if unknown:
            raise ValueError(f"unknown frames: {sorted(unknown)}")
        self.frames = {name: schema.conform(name, self.frames.get(name)) for name in schema.FRAMES}

    @classmethod
    def from_conformed(cls, frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> "Inventory":
        """Wrap frames that already passed `schema.conform` (every frame present) without re-casting."""
        missing = set(schema.FRAMES) - set(frames)
        if missing:
            raise ValueError(f"missing frames: {sorted(missing)}")
        inv = cls.__new__(cls)
        inv.frames, inv.meta = dict(frames), dict(meta)
        return inv

    @classmethod
    def from_frames(cls, meta: dict[str, Any] | None = None, **frames) -> "Inventory":
        """Build from any subset of frames (records or DataFrames); the rest are empty."""
        return cls(frames=frames, meta=dict(meta or {}))

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """`compute()` once per Inventory under `name`, then the same object (do not mutate it)."""
        # Replacing a frame (not recommended either) drops everything cached.
        stamp = tuple(id(df) for df in self.frames.values())
        if self.__dict__.get("_cache_stamp") != stamp:
            self.__dict__["_cache"], self.__dict__["_cache_stamp"] = {}, stamp
        cache = self.__dict__["_cache"]
        if name not in cache:
            cache[name] = compute()
        return cache[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in frames:
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
        return {name: len(df) for name, df in self.frames.items()}

    def save(self, path) -> "Path":
        from .snapshot import save
        return save(self, path)

    def __repr__(self) -> str:
        c = self.counts()
        return (f"Inventory(accounts={c['accounts']}, repositories={c['repositories']}, "
                f"images={c['images']}, errors={c['errors']})")
