"""Roll the per-repository storage frame up by account, region, OU or cost-allocation tag."""

from __future__ import annotations

import pandas as pd

from ..blobs import REPO_KEY

UNTAGGED = "(untagged)"
TAGS_UNKNOWN = "(tags not readable)"
OU_UNKNOWN = "(unknown)"


def _keyed(storage: pd.DataFrame, by: str, inv) -> tuple[pd.DataFrame, list[str]]:
    if by == "account":
        return storage, ["account_id"]
    if by == "region":
        return storage, ["region"]
    if by == "account_region":
        return storage, ["account_id", "region"]
    if by == "ou":
        return storage.assign(ou_path=storage["ou_path"].fillna(OU_UNKNOWN)), ["ou_path"]
    if by == "total":
        return storage.assign(scope="all repositories"), ["scope"]
    if by.startswith("tag:"):
        if inv is None:
            raise ValueError("rollup by tag needs inv (for repository_tags)")
        key = by[4:]
        tags = inv.repository_tags
        tags = tags.loc[tags["key"] == key, REPO_KEY + ["value"]].drop_duplicates(REPO_KEY)
        status = inv.repositories[REPO_KEY + ["tags_status"]]
        out = storage.merge(tags, on=REPO_KEY, how="left").merge(status, on=REPO_KEY, how="left")
        unreadable = out["tags_status"].isin(["unreadable", "unsupported"])
        col = f"tag:{key}"
        out[col] = out["value"].where(
            out["value"].notna(), pd.Series(UNTAGGED, index=out.index).where(~unreadable, TAGS_UNKNOWN)
        )
        return out.drop(columns=["value", "tags_status"]), [col]
    raise ValueError(f"unknown rollup {by!r}: account | region | account_region | ou | total | tag:<key>")


def rollup(storage: pd.DataFrame, by: str = "account", inv=None) -> pd.DataFrame:
    """Totals of `cost.storage(...)` by account | region | account_region | ou | total | tag:<key>.

    Repositories without the tag fall under "(untagged)", those whose tags could not be read
    under "(tags not readable)". `repositories_undetermined` counts repositories with no figure
    (excluded from the sums); `repositories_upper_bound` those whose figure is an upper bound.
    """
    df, keys = _keyed(storage, by, inv)
    df = df.assign(
        _undetermined=df["basis"].eq("undetermined"),
        _bound=df["is_upper_bound"],
        _assumed=df["price_basis"].eq("assumed"),
    )
    g = df.groupby(keys, dropna=False, sort=True)
    out = pd.DataFrame(
        {
            "repositories": g.size(),
            "repositories_upper_bound": g["_bound"].sum(),
            "repositories_undetermined": g["_undetermined"].sum(),
            "repositories_price_assumed": g["_assumed"].sum(),
            "images_total": g["images_total"].sum(),
            "billable_bytes": g["billable_bytes"].sum(),
            "reported_bytes": g["reported_bytes"].sum(),
            "standard_bytes": g["standard_bytes"].sum(),
            "archive_bytes": g["archive_bytes"].sum(),
            "cost_usd_per_month": g["cost_usd_per_month"].sum(),
        }
    ).reset_index()
    return out.sort_values("cost_usd_per_month", ascending=False, kind="stable").reset_index(drop=True)


def top(storage: pd.DataFrame, n: int = 20, by: str = "cost_usd_per_month") -> pd.DataFrame:
    """The `n` repositories with the largest `by` (undetermined ones last)."""
    return (
        storage.sort_values(by, ascending=False, na_position="last", kind="stable")
        .head(n)
        .reset_index(drop=True)
    )


def basis_summary(storage: pd.DataFrame) -> pd.DataFrame:
    """How the figures were obtained: per basis × price basis, repositories, images, bytes, cost."""
    g = storage.groupby(["basis", "price_basis"], dropna=False, sort=True)
    out = pd.DataFrame(
        {
            "repositories": g.size(),
            "images_total": g["images_total"].sum(),
            "images_without_manifest": g["images_without_manifest"].sum(),
            "billable_bytes": g["billable_bytes"].sum(),
            "cost_usd_per_month": g["cost_usd_per_month"].sum(),
        }
    ).reset_index()
    meaning = {
        "exact": "distinct blobs from manifests",
        "partial": "distinct blobs + sizes of images without manifests (upper bound)",
        "estimate": "sizes of non-index images, manifests not read (upper bound)",
        "undetermined": "image list not readable: no figure",
    }
    out["meaning"] = out["basis"].map(meaning)
    return out
