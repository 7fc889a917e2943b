"""Large worlds for benchmarks, seeded straight into moto's backends (no HTTP).

`scaled_world` builds plain single-platform Docker images (config + 2 base layers shared by the
repository + 1 unique layer) with deterministic tags, push and pull times. Manifest text comes
from a fixed template rather than json.dumps: this is the hot loop at a million images.

    python -m ecr_audit.sandbox.scale 3 2 50 200    # accounts regions repos/region images/repo
prints the images/s of building the world and of seeding it.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta

from . import manifests as mf
from .world import DEFAULT_NOW, MOTO_DEFAULT_ACCOUNT, Account, Image, Registry, Repository, World

REGIONS = (
    "us-east-1",
    "eu-west-1",
    "us-west-2",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ca-central-1",
    "sa-east-1",
)

_TEMPLATE = (
    '{{"schemaVersion":2,"mediaType":"' + mf.DOCKER_MANIFEST + '",'
    '"config":{{"mediaType":"' + mf.DOCKER_CONFIG + '","size":{cs},"digest":"{cd}"}},'
    '"layers":[{{"mediaType":"' + mf.DOCKER_LAYER + '","size":{b0s},"digest":"{b0d}"}},'
    '{{"mediaType":"' + mf.DOCKER_LAYER + '","size":{b1s},"digest":"{b1d}"}},'
    '{{"mediaType":"' + mf.DOCKER_LAYER + '","size":{us},"digest":"{ud}"}}]}}'
)


def _account_ids(n: int, seed: int) -> list[str]:
    rng = random.Random(f"accounts:{seed}")
    ids = [MOTO_DEFAULT_ACCOUNT]
    while len(ids) < n:
        i = f"{rng.randrange(10**12):012d}"
        if i not in ids:
            ids.append(i)
    return ids


def _images(rng: random.Random, repo_seed: str, n: int, now: datetime) -> list[Image]:
    base = [mf.blob(f"{repo_seed}:base0", 30_000_000), mf.blob(f"{repo_seed}:base1", 5_000_000)]
    out = []
    for i in range(n):
        cs = 1_500 + rng.randrange(8_000)
        us = 100_000 + rng.randrange(50_000_000)
        cd = mf.sha256(f"{repo_seed}:c{i}")
        ud = mf.sha256(f"{repo_seed}:u{i}")
        text = _TEMPLATE.format(
            cs=cs,
            cd=cd,
            b0s=base[0].size,
            b0d=base[0].digest,
            b1s=base[1].size,
            b1d=base[1].digest,
            us=us,
            ud=ud,
        )
        m = mf.Manifest(
            text,
            mf.DOCKER_MANIFEST,
            cs + base[0].size + base[1].size + us,
            config_media_type=mf.DOCKER_CONFIG,
        )
        age = n - i  # image i pushed (n - i) hours before now
        pushed = now - timedelta(hours=age * 6)
        pulled = None if rng.random() < 0.3 else pushed + timedelta(hours=rng.randrange(1, 1 + age * 6))
        tags = (f"v{i}",) if i % 3 else ()
        out.append(Image(m, tags, pushed, pulled))
    if out:
        out[-1].tags = out[-1].tags + ("latest",)
    return out


def scaled_world(
    accounts: int,
    regions: int,
    repositories_per_region: int,
    images_per_repository: int,
    seed: int = 0,
    now: datetime = DEFAULT_NOW,
) -> World:
    """A world of accounts × regions × repositories × images (accounts counts the management)."""
    if accounts < 1 or not 1 <= regions <= len(REGIONS):
        raise ValueError(f"accounts >= 1 and 1 <= regions <= {len(REGIONS)}")
    rng = random.Random(seed)
    accts = []
    for k, acct_id in enumerate(_account_ids(accounts, seed)):
        regs = []
        for region in REGIONS[:regions]:
            repos = [
                Repository(
                    f"team{r % 10}/service-{r}",
                    _images(rng, f"{seed}:{acct_id}:{region}:{r}", images_per_repository, now),
                    created_at=now - timedelta(days=1000),
                )
                for r in range(repositories_per_region)
            ]
            regs.append(Registry(region, repos, audit_role_excluded=True))
        accts.append(Account(acct_id, "management" if k == 0 else f"member-{k}", registries=regs))
    return World(
        f"scaled-{accounts}x{regions}x{repositories_per_region}x{images_per_repository}-{seed}",
        accts,
        now=now,
    )


def main(argv: list[str]) -> None:
    from .org import running

    a, r, p, i = (int(x) for x in (argv + ["3", "2", "50", "200"][len(argv) :])[:4])
    t = time.perf_counter()
    world = scaled_world(a, r, p, i)
    built = time.perf_counter() - t
    n = world.image_count()
    t = time.perf_counter()
    with running(world) as org:
        seeded = time.perf_counter() - t
        print(
            f"{n} images: world built in {built:.2f} s ({n / built:,.0f} images/s), "
            f"running() incl. seeding {seeded:.2f} s ({n / seeded:,.0f} images/s); "
            f"org {org.organization_id}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
