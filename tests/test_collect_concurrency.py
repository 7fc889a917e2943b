"""The collector's concurrency, in a world of its own (a module-wide sandbox cannot share the process)."""

from ecr_audit import sandbox
from ecr_audit.collect import collect


def test_at_most_repository_workers_calls_are_in_flight_per_account_and_region():
    """Politeness to ECR's per account × region throttling: registry reads, repository reads and
    manifest reads of a unit share its workers, so no more than `repository_workers` of its calls
    are ever in flight at once (and the workers are really used concurrently)."""
    import threading
    from collections import Counter

    from moto.core.botocore_stubber import BotocoreStubber

    in_flight, peak, lock = Counter(), Counter(), threading.Lock()
    orig = BotocoreStubber.__call__

    def counting(stub, event_name, request, **kwargs):
        host = request.url.split("/")[2]
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else str(auth)
        key = (auth.split("Credential=", 1)[-1].split("/", 1)[0], host)  # access key (account) × endpoint
        if not host.startswith("api.ecr."):
            return orig(stub, event_name, request, **kwargs)
        with lock:
            in_flight[key] += 1
            peak[key] = max(peak[key], in_flight[key])
        try:
            return orig(stub, event_name, request, **kwargs)
        finally:
            with lock:
                in_flight[key] -= 1

    with sandbox.running(sandbox.scaled_world(2, 2, 10, 3)) as o:
        o.faults.latency(0.02)
        BotocoreStubber.__call__ = counting
        try:
            inv = collect(
                o.session(), org=True, role_name=o.role_name, repository_workers=3, read_manifests="always"
            )
        finally:
            BotocoreStubber.__call__ = orig
    assert inv.meta["completeness"] == "complete" and len(peak) == 4  # 2 accounts × 2 regions
    assert max(peak.values()) == 3, peak
