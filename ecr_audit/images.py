"""The manifest graph: image roles, liveness, orphans, staleness and superseded tags.

ECR lists every manifest as an "image", so "untagged" is not "unused" (docs/ecr.md#untagged-is-not-unused):
platform manifests and buildx attestations of a tagged index are untagged, cosign signatures
are tagged `sha256-<hex>.sig|.att|.sbom` and outlive what they sign, OCI referrers hang off a
`subject`. Liveness is reachability in the graph of keep-alive edges, within one repository:

    index            ──keeps──►  its children (platform manifests, attestation manifests)
    subject image    ──keeps──►  its referrers, cosign signatures/attestations/SBOMs,
                                 buildx attestation manifests that describe it

Roots are images with at least one ordinary tag (a cosign tag names the *subject*, it does not
make the signature a root). An image is `live` when a root reaches it, `orphan` when nothing
could reach it, `undetermined` when only an edge we could not read could (manifests not read
for its account × region, or an index manifest that could not be read in its repository).

Everything is vectorized over frames (numpy reachability over integer node ids); loops are
bounded by the depth of the graph, never by the number of images.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import ecr, times
from .blobs import attributed_freed_bytes, attributed_freed_bytes_rows
from .keys import digest_rows, keys, reference_rows, tag_rows
from .schema import IMAGE_KEY, REPO_KEY
from .times import NAT, to_ns

ROLES = ecr.IMAGE_ROLES
LIVENESS = ("live", "orphan", "undetermined")
ORPHAN_REASONS = (
    "untagged_unreferenced",
    "orphaned_index",
    "orphaned_index_child",
    "dangling_signature",
    "dangling_referrer",
    "orphaned_attachment",
)

EXCLUSION_HOWTO = (
    "Register the audit role as a pull-time update exclusion in every account and "
    "region, then collect again with manifests: "
    "aws ecr register-pull-time-update-exclusion --principal-arn <audit-role-arn> "
    "--region <region>"
)

_KEEP_PARENT_KINDS = ("index_child",)  # source keeps target
_KEEP_SUBJECT_KINDS = ("referrer_subject", "signature_subject", "attestation_subject")  # target keeps source


# --------------------------------------------------------------------------------------------
# Graph
# --------------------------------------------------------------------------------------------


def _tag_facts(inv, images: pd.DataFrame) -> pd.DataFrame:
    """Per image: number of tags, of ordinary tags, and the subject named by its first cosign tag."""
    n = len(images)
    rows, flat = tag_rows(inv)
    subjects, _ = ecr.cosign_tags(flat)
    is_cosign = np.asarray(subjects.is_valid(), dtype=bool)
    subject = np.full(n, None, dtype=object)
    cos_rows, first = np.unique(rows[is_cosign], return_index=True)  # first cosign tag of each image
    subject[cos_rows] = subjects.filter(pa.array(is_cosign)).take(first).to_pylist()
    return pd.DataFrame(
        {
            "n_tags": np.bincount(rows, minlength=n),
            "n_plain_tags": np.bincount(rows[~is_cosign], minlength=n),
            "cosign_subject": pd.Series(subject, index=images.index, dtype="str"),
        },
        index=images.index,
    )


def _manifests_read(inv) -> pd.DataFrame:
    """account × region → manifests were read (coverage.has_read_manifests; no row: not read)."""
    cov = inv.coverage[["account_id", "region", "has_read_manifests"]].copy()
    cov["has_read_manifests"] = cov["has_read_manifests"].fillna(False).astype(bool)
    return cov.drop_duplicates(["account_id", "region"])


def graph_known_by_repo(inv) -> tuple[np.ndarray, np.ndarray]:
    """Per repository id (`keys.repos` row): whether its index → child edges are all known, and
    the reason when not ("" when known). Cached per Inventory; do not mutate the arrays."""

    def compute():
        k = keys(inv)
        im = inv.images
        read = k.repos[["account_id", "region"]].merge(
            _manifests_read(inv), on=["account_id", "region"], how="left"
        )
        region_read = read["has_read_manifests"].fillna(False).astype(bool).to_numpy()
        status = im["manifest_status"]
        is_index = im["manifest_media_type"].isin(ecr.INDEX_TYPES).to_numpy()
        bad_index = is_index & status.notna().to_numpy() & ~(status == "present").fillna(False).to_numpy()
        bad = np.bincount(k.image_repo, weights=bad_index, minlength=k.n_repos) > 0
        known = region_read & ~bad
        reason = np.where(
            ~region_read,
            "manifests not read in this account × region",
            np.where(bad, "some index manifests could not be read", ""),
        ).astype(object)
        return known, reason

    return inv.cached("images.completeness", compute)


def graph_completeness(inv) -> pd.DataFrame:
    """Per repository with images: whether every index → child edge is known, and why not.

    Known means manifests were read in the account × region and every index manifest of the
    repository (index media type comes from DescribeImages, so indexes are always recognized)
    was read. Only then can an untagged image be shown to be referenced by no index.
    """
    if inv.images.empty:
        return pd.DataFrame(columns=REPO_KEY + ["is_graph_known", "graph_reason"])
    known, reason = graph_known_by_repo(inv)
    return keys(inv).repos.assign(is_graph_known=known, graph_reason=reason)


def _on_subject_cycle(sub_idx: np.ndarray) -> np.ndarray:
    """True where following subjects (sub_idx: row of each image's subject, -1 none) never
    ends: the image is on, or leads into, a cycle. Pointer doubling: log2(n) vectorized steps."""
    n = len(sub_idx)
    step = np.where(sub_idx >= 0, sub_idx, np.arange(n))  # an image without a subject is a fixed point
    for _ in range(max(int(n).bit_length(), 1) + 1):
        step = step[step]
    return sub_idx[step] >= 0 if n else np.zeros(0, bool)


class _Graph:
    """Integer node ids (= row positions of inv.images) and keep-alive edges between them."""

    def __init__(self, inv):
        im = inv.images.reset_index(drop=True)
        self.images = im
        self.n = len(im)
        tf = _tag_facts(inv, im)
        self.n_plain_tags = tf["n_plain_tags"].to_numpy()
        self.is_tagged = tf["n_tags"].to_numpy() > 0
        self.cosign_subject = tf["cosign_subject"]
        ref = inv.manifest_references
        subj_digest = im["subject_digest"]
        has_sd = subj_digest.notna().to_numpy()
        cos = self.cosign_subject.notna().to_numpy()
        src, tgt = reference_rows(inv)
        kind = ref["kind"].to_numpy(dtype=object) if len(ref) else np.array([], object)
        parent_kind = np.isin(kind, _KEEP_PARENT_KINDS)
        subject_kind = np.isin(kind, _KEEP_SUBJECT_KINDS)
        self.ref = ref.assign(_src=src, _tgt=tgt)

        # Subject named by DescribeImages (subjectManifestDigest) and by cosign tags: the
        # collector also writes these as edges, but hand-built or partial inventories may not.
        sd_tgt = digest_rows(inv, subj_digest[has_sd], np.flatnonzero(has_sd))
        cos_tgt = digest_rows(inv, self.cosign_subject[cos], np.flatnonzero(cos))

        keeper = np.concatenate([src[parent_kind], tgt[subject_kind], sd_tgt, cos_tgt]).astype(np.int64)
        kept = np.concatenate(
            [tgt[parent_kind], src[subject_kind], np.flatnonzero(has_sd), np.flatnonzero(cos)]
        ).astype(np.int64)
        ok = (keeper >= 0) & (kept >= 0) & (keeper != kept)
        self.keeper, self.kept = keeper[ok], kept[ok]  # duplicates are harmless for reachability

        # The subject an attachment names, whether or not it exists in the repository.
        subject = pd.Series(pd.NA, index=im.index, dtype=object)
        if len(ref):
            sk = ref.loc[subject_kind & (src >= 0)]
            first = sk.assign(_src=src[subject_kind & (src >= 0)]).drop_duplicates("_src")
            subject.iloc[first["_src"].to_numpy()] = first["target_digest"].to_numpy()
        subject = subject.where(subject.notna(), self.cosign_subject.astype(object))
        subject = subject.where(~has_sd, subj_digest.astype(object))
        self.subject = subject
        sub_idx = np.full(self.n, -1, dtype=np.int64)
        has_subject = subject.notna().to_numpy()
        if has_subject.any():
            sub_idx[has_subject] = digest_rows(inv, subject[has_subject], np.flatnonzero(has_subject))
        self.subject_present = sub_idx >= 0
        self.has_subject = has_subject
        self.subject_cycle = _on_subject_cycle(sub_idx)

    def reach(self, roots: np.ndarray) -> np.ndarray:
        """Nodes reachable from `roots` along keep-alive edges (iterates graph depth times)."""
        live = roots.copy()
        keeper, kept = self.keeper, self.kept
        while True:
            new = kept[live[keeper] & ~live[kept]]
            if new.size == 0:
                return live
            live[new] = True

    def child_edges(self) -> pd.DataFrame:
        ref = self.ref
        if not len(ref):
            return ref
        return ref[(ref["kind"] == "index_child") & (ref["_src"] >= 0) & (ref["_tgt"] >= 0)]


def keep_edges(inv) -> tuple[np.ndarray, np.ndarray]:
    """(keeper row, kept row) of every keep-alive edge between images of `inv.images` (rows): an
    index keeps its children, a subject its referrers, signatures and attestations. Read-only."""
    g = _classify(inv)[1]
    return g.keeper, g.kept


def index_child_edges(inv) -> tuple[np.ndarray, np.ndarray]:
    """(index row, child row) of every index → child edge between images of `inv.images`."""
    e = _classify(inv)[1].child_edges()
    if not len(e):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return e["_src"].to_numpy(np.int64), e["_tgt"].to_numpy(np.int64)


def classify(inv) -> pd.DataFrame:
    """Every image with its role in the manifest graph and whether a live tagged image reaches it.

    role: image | index | index_child | attestation | signature | referrer | undetermined
      (first match in that precedence: signature, index, referrer, attestation, index_child;
      `undetermined` = untagged, not an index, no subject, and the repository's index → child
      edges are not known). liveness: live | orphan | undetermined; is_live is null when
      undetermined. parent_index_digest / parent_index_count: the first (lowest-digest) index
      listing the image and how many do (all edges: inv.manifest_references). subject_digest: what
      a referrer / signature / attestation describes (subjectManifestDigest, manifest subject,
      cosign tag or buildx reference annotation).

    Computed once per Inventory (cached); the caller gets its own copy.
    """
    return _classify(inv)[0].copy()


CLASSIFY_COLUMNS = IMAGE_KEY + [
    "tags",
    "role",
    "liveness",
    "is_live",
    "parent_index_digest",
    "parent_index_count",
    "subject_digest",
    "has_subject_present",
    "platform",
    "size_bytes",
    "pushed_at",
    "last_pulled_at",
    "image_status",
    "manifest_media_type",
    "is_graph_known",
    "graph_reason",
]


def _classify(inv):
    """(classification, graph), cached on the Inventory: callers must not mutate either."""
    return inv.cached("images.classify", lambda: _compute_classify(inv))


def liveness_by_row(inv) -> np.ndarray:
    """The liveness of each row of `inv.images`, in row order (cached classification; read-only)."""
    return _classify(inv)[0]["liveness"].to_numpy()


def roles_by_row(inv) -> np.ndarray:
    """The role of each row of `inv.images`, in row order (from the cached classification, without
    copying it; read-only)."""
    return _classify(inv)[0]["role"].to_numpy()


def _compute_classify(inv):
    g = _Graph(inv)
    im = g.images
    n = g.n
    if n == 0:
        return pd.DataFrame(columns=CLASSIFY_COLUMNS), g
    known_repo, reason_repo = graph_known_by_repo(inv)
    image_repo = keys(inv).image_repo
    graph_known = known_repo[image_repo]

    is_index = im["manifest_media_type"].isin(ecr.INDEX_TYPES).to_numpy()
    types = im["artifact_type"].fillna(im["config_media_type"]).fillna(im["artifact_media_type"])
    sig_type = types.isin(ecr.SIGNATURE_TYPES).to_numpy()
    intoto = types.fillna("").str.contains("in-toto", regex=False).to_numpy()
    cosign_only = g.cosign_subject.notna().to_numpy() & (g.n_plain_tags == 0)

    children = g.child_edges()
    is_child = np.zeros(n, bool)
    is_att_child = np.zeros(n, bool)
    if len(children):
        is_child[children["_tgt"].to_numpy()] = True
        att = (children["reference_type"] == "attestation-manifest").fillna(False) | (
            children["platform"] == "unknown/unknown"
        ).fillna(False)
        is_att_child[children.loc[att.to_numpy(), "_tgt"].to_numpy()] = True
    ref = g.ref
    att_source = np.zeros(n, bool)
    if len(ref):
        a = ref[(ref["kind"] == "attestation_subject") & (ref["_src"] >= 0)]
        att_source[a["_src"].to_numpy()] = True

    role = np.select(
        [
            cosign_only | (sig_type & g.has_subject),
            is_index,
            g.has_subject & ~att_source & ~is_att_child,
            is_att_child | att_source | (intoto & g.has_subject),
            is_child,
            g.is_tagged | graph_known,
        ],
        [ROLES.index(r) for r in ("signature", "index", "referrer", "attestation", "index_child", "image")],
        default=ROLES.index("undetermined"),
    )

    roots = g.n_plain_tags > 0
    # Could be kept alive by an edge we could not read: untagged, graph unknown, and no subject
    # decides for it — it has none, or its subjects go round a cycle (only a tampered snapshot
    # has one: a digest hashes the manifest that would have to name it).
    unknown = ~graph_known & ~g.is_tagged & (~g.has_subject | g.subject_cycle)
    live = g.reach(roots)
    possibly = g.reach(roots | unknown)
    liveness = np.where(live, 0, np.where(possibly, 2, 1))  # LIVENESS codes

    platform = pd.Series(pd.NA, index=im.index, dtype=object)
    if len(children):
        first = children.drop_duplicates("_tgt")
        platform.iloc[first["_tgt"].to_numpy()] = first["platform"].to_numpy()
    out = im[IMAGE_KEY + ["tags"]].copy()
    out["role"] = _labels(role, ROLES)
    out["liveness"] = _labels(liveness, LIVENESS)
    out["is_live"] = pd.array(np.where(liveness == 2, None, live), dtype="boolean")
    # First parent (lowest digest) and how many indexes list the image; all edges are in
    # inv.manifest_references. (A list per image would cost a Python object per row.)
    parent = pd.Series(pd.NA, index=im.index, dtype=object)
    count = np.zeros(n, np.int64)
    if len(children):
        e = children.drop_duplicates(["_tgt", "source_digest"]).sort_values("source_digest")
        first = e.drop_duplicates("_tgt")
        parent.iloc[first["_tgt"].to_numpy()] = first["source_digest"].to_numpy()
        count = np.bincount(e["_tgt"].to_numpy(), minlength=n)
    out["parent_index_digest"] = parent
    out["parent_index_count"] = count
    out["subject_digest"] = g.subject.astype(object)
    out["has_subject_present"] = g.subject_present
    out["platform"] = platform
    out["size_bytes"] = im["size_bytes"]
    out["pushed_at"] = im["pushed_at"]
    out["last_pulled_at"] = im["last_pulled_at"]
    out["image_status"] = im["image_status"]
    out["manifest_media_type"] = im["manifest_media_type"]
    out["is_graph_known"] = graph_known
    reason_code, reasons = pd.factorize(reason_repo)
    out["graph_reason"] = _labels(reason_code[image_repo], reasons)
    return out[CLASSIFY_COLUMNS], g


# --------------------------------------------------------------------------------------------
# Orphans
# --------------------------------------------------------------------------------------------


def orphans(inv, roles: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per orphaned image: nothing live and tagged keeps it, decided from read data.

    reason: untagged_unreferenced (untagged image, no index lists it, no subject),
    orphaned_index (untagged index), orphaned_index_child (listed only by orphaned indexes),
    dangling_signature (signature whose subject is not in the repository), dangling_referrer
    (referrer/attestation whose subject is not in the repository), orphaned_attachment
    (signature/referrer/attestation whose subject exists but is itself an orphan).
    Never an orphan: anything a live image reaches (a child of a live index even if an orphaned
    index also lists it; attachments of live images), nor anything `undetermined`.
    cosign signatures stored in another repository (COSIGN_REPOSITORY) look dangling here.
    Never an orphan either: an image in use (`consumers.in_use`: a consumer names it or its unit);
    one whose in-use is unknown is listed with in_use `unknown`, never as safe to delete.
    reclaimable_bytes: blobs that no remaining image of the repository uses, with all orphans
    removed together (null when the repository's blobs are not fully known).
    """
    c = _classify(inv)[0] if roles is None else roles  # cached: its index is the inv.images row
    o = c[c["liveness"] == "orphan"].copy()
    # In use (docs/consumers.md#in-use): never an orphan; unknown stays listed and says so.
    o["in_use"] = _in_use_of(inv, o)
    o = o[o["in_use"] != "yes"]
    role = o["role"]
    subject_missing = o["subject_digest"].notna() & ~o["has_subject_present"].astype(bool)
    in_orphan_index = o["parent_index_count"] > 0
    o["reason"] = np.select(
        [
            (role == "signature") & subject_missing,
            role.isin(["referrer", "attestation"]) & subject_missing,
            role == "index",
            in_orphan_index,
            role.isin(["signature", "referrer", "attestation"]),
        ],
        [
            "dangling_signature",
            "dangling_referrer",
            "orphaned_index",
            "orphaned_index_child",
            "orphaned_attachment",
        ],
        default="untagged_unreferenced",
    )
    if not len(o):
        o["reclaimable_bytes"] = pd.Series(dtype="Int64")
    elif roles is None:
        o["reclaimable_bytes"] = attributed_freed_bytes_rows(inv, o.index.to_numpy())
    else:
        o["reclaimable_bytes"] = attributed_freed_bytes(inv, o[IMAGE_KEY])
    cols = IMAGE_KEY + [
        "tags",
        "role",
        "reason",
        "subject_digest",
        "parent_index_digest",
        "platform",
        "size_bytes",
        "reclaimable_bytes",
        "pushed_at",
        "last_pulled_at",
        "image_status",
        "in_use",
    ]
    return o[cols].reset_index(drop=True)


def _in_use_of(inv, frame: pd.DataFrame | None = None) -> pd.Series:
    """in_use (yes | no | unknown) of the images `frame` names (IMAGE_KEY columns; None: every
    row of inv.images, in order)."""
    from . import consumers  # lazy: consumers resolves in-use on this module's graph (docs/architecture.md)

    if frame is None:
        return consumers.in_use_by_row(inv)["in_use"]
    return consumers.in_use_of(inv, frame)["in_use"]


def undetermined(inv, roles: pd.DataFrame | None = None) -> pd.DataFrame:
    """Images whose liveness needs manifest data that was not read, with why and what to do."""
    c = _classify(inv)[0] if roles is None else roles
    u = c[c["liveness"] == "undetermined"].copy()
    u["why"] = np.where(
        u["is_graph_known"],
        "its subject or parent is undetermined",
        "untagged, and index manifests were not read here (" + u["graph_reason"].astype(str) + ")",
    )
    u["how_to_decide"] = EXCLUSION_HOWTO
    cols = IMAGE_KEY + ["tags", "role", "why", "how_to_decide", "size_bytes", "pushed_at", "last_pulled_at"]
    return u[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Staleness
# --------------------------------------------------------------------------------------------


ACTIVITY_BASES = ("restored", "pulled", "pushed (never pulled)", "unit (parent or subject)")


def _labels(codes: np.ndarray, names) -> pd.Series:
    """`names[code]` per row as a str Series, decoded by Arrow (no Python string per row)."""
    arr = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(list(names), pa.string()))
    return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.string())), dtype="str")


def stale(inv, days: int = 90, as_of=None) -> pd.DataFrame:
    """Per image: last activity and whether it is older than `days` before `as_of`.

    Own activity = lastRecordedPullTime, else (never pulled) the push time; a restore from
    archive (lastActivatedAt) after the last pull counts too. Images are judged as a unit: a
    child or attachment takes the newest activity of the images keeping it (an index its own
    pull time; its children follow it), so a platform manifest is not "stale" while its tag
    is pulled. in_use (yes | no | unknown, `consumers.in_use`) stands beside idle_days: a running
    service pulls only when a task starts, so an image in use can look idle.
    `as_of` defaults to the snapshot's collected_at. ECR records lastRecordedPullTime
    at most once every 24 hours (so idle_days is exact only to a day), and any BatchGetImage,
    an audit's included, moves it unless the caller is a pull-time update exclusion.
    """
    now = times.as_of(inv, as_of)
    # the stale check and the trend point both ask: computed once per inventory, days and time
    return inv.cached(f"images.stale:{days}:{now.value}", lambda: _stale(inv, days, now)).copy()


def _stale(inv, days: int, now: pd.Timestamp) -> pd.DataFrame:
    roles, g = _classify(inv)
    im = g.images
    pulled, pushed, activated = (
        to_ns(im["last_pulled_at"]),
        to_ns(im["pushed_at"]),
        to_ns(im["last_activated_at"]),
    )
    own = np.where(pulled != NAT, np.maximum(pulled, activated), np.maximum(pushed, activated))
    basis = np.where(pulled != NAT, np.where(activated > pulled, 0, 1), np.where(activated > pushed, 0, 2))
    eff = own.copy()
    while len(g.keeper):
        nxt = eff.copy()
        np.maximum.at(nxt, g.kept, eff[g.keeper])
        if np.array_equal(nxt, eff):
            break
        eff = nxt
    basis = np.where(eff > own, 3, basis)
    out = im[IMAGE_KEY + ["tags"]].copy()
    out["role"] = roles["role"].array  # row-aligned: both follow inv.images
    out["liveness"] = roles["liveness"].array
    out["last_activity_at"] = pd.to_datetime(
        np.where(eff == NAT, np.datetime64("NaT"), eff.view("datetime64[ns]")), utc=True
    )
    out["activity_basis"] = _labels(basis, ACTIVITY_BASES)
    idle = now - out["last_activity_at"]
    out["idle_days"] = (idle.dt.total_seconds() // 86400).astype("Int64")
    out["is_stale"] = (out["idle_days"] >= days).astype("boolean")
    out["size_bytes"] = im["size_bytes"]
    out["is_index"] = im["manifest_media_type"].isin(ecr.INDEX_TYPES).to_numpy()
    out["in_use"] = _in_use_of(inv).to_numpy()  # an idle image can still be deployed
    return out


def stale_by_repository(
    inv, days: int = 90, as_of=None, per_image: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per repository: images, stale images, their sizes and the newest activity.

    Sizes sum imageSizeInBytes over non-index images only (an index reports the max of its
    children, docs/ecr.md#image-size); shared layers are still counted per image (an upper bound).
    """
    s = stale(inv, days, as_of) if per_image is None else per_image
    s = s.assign(
        _sz=s["size_bytes"].where(~s["is_index"], 0).fillna(0),
        _st=s["is_stale"].fillna(False).astype(bool),
        _tagged=s["tags"].map(len) > 0,
    )
    s["_stale_sz"] = s["_sz"].where(s["_st"], 0)
    s["_stale_tagged"] = s["_st"] & s["_tagged"]
    g = (
        s.groupby(REPO_KEY, observed=True)
        .agg(
            images=("image_digest", "size"),
            stale_images=("_st", "sum"),
            stale_tagged_images=("_stale_tagged", "sum"),
            size_bytes=("_sz", "sum"),
            stale_size_bytes=("_stale_sz", "sum"),
            last_activity_at=("last_activity_at", "max"),
        )
        .reset_index()
    )
    g["is_all_stale"] = g["images"] == g["stale_images"]
    for c in ("images", "stale_images", "stale_tagged_images", "size_bytes", "stale_size_bytes"):
        g[c] = g[c].astype("Int64")
    return g.sort_values(["stale_size_bytes", "repository_name"], ascending=[False, True]).reset_index(
        drop=True
    )


# --------------------------------------------------------------------------------------------
# Superseded
# --------------------------------------------------------------------------------------------

_HEXISH = r"^(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}$"
_VERSION = r"v?\d+(?:[._]\d+)*"


def tag_family(tags: pd.Series) -> pd.Series:
    """The tag family: a tag with its version part(s) replaced by `#`.

    `1.2.3` and `1.10` → `#`; `v1.2.3-alpine` → `#-alpine`; `build-123` → `build-#`;
    `2024-05-01` → `#-#-#`; a git-hash-like tag (7–40 hex characters with letters and digits)
    → `<hash>`; tags without digits (`latest`, `stable`) are their own one-image family.
    """
    t = tags.astype(str)
    fam = t.str.replace(_VERSION, "#", regex=True)
    return fam.where(~t.str.match(_HEXISH), "<hash>")


def superseded(inv, keep: int = 3) -> pd.DataFrame:
    """Tagged images older than the newest `keep` images of every tag family they belong to.

    Push time ranks (lastActivatedAt for restored images, as lifecycle does); ties break by
    digest. An image with several tags must be outside the newest `keep` in each of its
    families (a `latest` tag keeps it); the family reported is the one where it ranks best
    (ties: the first family name). cosign tags are not families: signatures go with their
    subject. Children and attachments of a superseded image go with it (see `classify`).
    """
    im = inv.images
    cols = IMAGE_KEY + [
        "tags",
        "family",
        "family_rank",
        "family_images",
        "pushed_at",
        "size_bytes",
        "manifest_media_type",
    ]
    rows, flat = tag_rows(inv)
    if len(flat):
        plain = ~np.asarray(ecr.cosign_tags(flat)[0].is_valid(), dtype=bool)
        rows, flat = rows[plain], flat.filter(pa.array(plain))
    if not len(rows):
        return pd.DataFrame(columns=cols)
    fam_code, fam_names = pd.factorize(tag_family(pd.Series(pd.arrays.ArrowStringArray(flat))), sort=True)
    # One entry per image × family (two tags of one family count once).
    _, first = np.unique(rows * len(fam_names) + fam_code, return_index=True)
    rows, fam_code = rows[first], fam_code[first]
    k = keys(inv)
    repo_rank = np.empty(k.n_repos, np.int64)
    repo_rank[np.lexsort([k.repos[c].to_numpy(dtype=object) for c in reversed(REPO_KEY)])] = np.arange(
        k.n_repos
    )
    repo = repo_rank[k.image_repo[rows]]
    t = to_ns(im["last_activated_at"].where(im["last_activated_at"].notna(), im["pushed_at"]))[rows]
    newest_first = np.where(t == NAT, np.iinfo(np.int64).max, -t)  # never-pushed last
    digest_rank = np.asarray(
        pc.rank(
            pa.array(im["image_digest"].array).take(pa.array(rows)), sort_keys="ascending", tiebreaker="dense"
        ),
        dtype=np.int64,
    )
    order = np.lexsort((digest_rank, newest_first, fam_code, repo))
    rows, fam_code, repo = rows[order], fam_code[order], repo[order]
    group = np.r_[True, (repo[1:] != repo[:-1]) | (fam_code[1:] != fam_code[:-1])]
    start = np.flatnonzero(group)
    gid = np.cumsum(group) - 1
    rank = np.arange(len(rows)) - start[gid] + 1
    size = np.diff(np.r_[start, len(rows)])[gid]
    # The family where the image ranks best decides; superseded only if beyond `keep` there too.
    best = np.lexsort((fam_code, rank, rows))
    best = best[np.r_[True, rows[best][1:] != rows[best][:-1]]]
    best = best[rank[best] > keep]
    best = best[np.lexsort((rank[best], fam_code[best], repo[best]))]
    r = rows[best]
    out = (
        im[IMAGE_KEY + ["tags", "pushed_at", "size_bytes", "manifest_media_type"]]
        .take(r)
        .reset_index(drop=True)
    )
    out["family"] = pd.Series(np.asarray(fam_names, dtype=object)[fam_code[best]], dtype="str")
    out["family_rank"] = pd.array(rank[best], dtype="Int64")
    out["family_images"] = pd.array(size[best], dtype="Int64")
    return out[cols]


# --------------------------------------------------------------------------------------------
# Summaries for reports
# --------------------------------------------------------------------------------------------


def role_mix(roles: pd.DataFrame) -> pd.DataFrame:
    """Per role × liveness: images, how many are untagged, and their reported size.

    Shows how much of "untagged" is really index children and attachments of live images.
    Index sizes are excluded from size_bytes (an index reports the max of its children).
    """
    r = roles.assign(
        _untagged=roles["tags"].map(len) == 0,
        _size=roles["size_bytes"].where(~roles["manifest_media_type"].isin(ecr.INDEX_TYPES), 0),
    )
    out = (
        r.groupby(["role", "liveness"], observed=True)
        .agg(
            images=("image_digest", "size"), untagged_images=("_untagged", "sum"), size_bytes=("_size", "sum")
        )
        .reset_index()
    )
    for c in ("images", "untagged_images", "size_bytes"):
        out[c] = out[c].astype("Int64")
    return out.sort_values(["untagged_images", "images"], ascending=False).reset_index(drop=True)


def orphan_summary(
    orphan_rows: pd.DataFrame, by=("account_id", "region", "repository_name", "reason")
) -> pd.DataFrame:
    """Orphans grouped by `by`: images, reported size, reclaimable bytes (null if any unknown)."""
    by = list(by)
    o = orphan_rows.assign(_unknown=orphan_rows["reclaimable_bytes"].isna())
    out = (
        o.groupby(by, observed=True)
        .agg(
            images=("image_digest", "size"),
            size_bytes=("size_bytes", "sum"),
            reclaimable_bytes=("reclaimable_bytes", "sum"),
            _unknown=("_unknown", "any"),
        )
        .reset_index()
    )
    out["reclaimable_bytes"] = out["reclaimable_bytes"].astype("Int64").mask(out.pop("_unknown"))
    out["images"] = out["images"].astype("Int64")
    return out.sort_values(
        ["reclaimable_bytes", "size_bytes"], ascending=False, na_position="last"
    ).reset_index(drop=True)


IDLE_BINS = (0, 30, 90, 180, 365, 730)


def idle_histogram(stale_rows: pd.DataFrame, bins=IDLE_BINS) -> pd.DataFrame:
    """Images per idle-days bucket (days since last activity, units judged together)."""
    edges = list(bins) + [np.inf]
    labels = [f"{a}–{b - 1} days" if np.isfinite(b) else f"{a}+ days" for a, b in zip(edges[:-1], edges[1:])]
    bucket = pd.cut(stale_rows["idle_days"].astype("float"), edges, right=False, labels=labels)
    s = stale_rows.assign(bucket=bucket, _size=stale_rows["size_bytes"].where(~stale_rows["is_index"], 0))
    out = s.groupby("bucket", observed=False).agg(
        images=("image_digest", "size"), size_bytes=("_size", "sum")
    )
    return out.reset_index().astype({"images": "Int64", "size_bytes": "Int64"})


__all__ = [
    "ACTIVITY_BASES",
    "CLASSIFY_COLUMNS",
    "EXCLUSION_HOWTO",
    "IDLE_BINS",
    "IMAGE_KEY",
    "LIVENESS",
    "ORPHAN_REASONS",
    "REPO_KEY",
    "ROLES",
    "attributed_freed_bytes",
    "classify",
    "graph_completeness",
    "graph_known_by_repo",
    "idle_histogram",
    "index_child_edges",
    "keep_edges",
    "liveness_by_row",
    "orphan_summary",
    "orphans",
    "role_mix",
    "roles_by_row",
    "stale",
    "stale_by_repository",
    "superseded",
    "tag_family",
    "undetermined",
]
