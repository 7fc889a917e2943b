"""`ecr-audit` command line. Thin: parses arguments, calls the package, maps outcomes to exit codes.

Exit codes:
  0  complete
  1  internal error (a bug: please report it with the message)
  2  bad input: arguments, a missing or invalid snapshot, an unwritable output directory
  3  partial: collection finished but some reads failed (see the errors frame)
  4  nothing could be collected
  5  a report notebook failed (the other pages were still written)
  130 interrupted
  141 the reader of the output went away (`ecr-audit show SNAP | head`): quiet, like tools
      killed by SIGPIPE

Credential problems of the caller (none found, expired or refused, an SSO session to renew, an
unknown --profile) exit 2 with one line saying how to fix them; when AWS cannot be asked who the
caller is (throttling, 5xx, network, after retries) the exit is 4 with one line. `--debug-traceback`
(before the command) re-raises internal errors with their traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_PARTIAL, EXIT_EMPTY, EXIT_REPORT = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141
COMPLETENESS_EXIT = {"complete": EXIT_OK, "partial": EXIT_PARTIAL, "empty": EXIT_EMPTY}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r}: give a number of seconds >= 0 (0 = no limit)")
    return seconds


def _whole(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None


def _default_out() -> Path:
    return Path("snapshots") / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _say(args, msg: str) -> None:
    if not getattr(args, "quiet", False):
        print(msg, file=sys.stderr)


def _summary(inv) -> str:
    c = inv.counts()
    regions = inv.coverage["region"].nunique() if len(inv.coverage) else 0
    collected = int((inv.accounts["collection_status"].isin(["collected", "partial"])).sum())
    return (
        f"{collected} accounts, {regions} regions, {c['repositories']} repositories, "
        f"{c['images']} images, {c['errors']} errors ({inv.meta.get('completeness', 'unknown')})"
    )


def _progress(args):
    if args.quiet:
        return None
    from .collect import StderrProgress

    return StderrProgress(verbose=args.verbose)


def _collect_kwargs(args) -> dict:
    if args.org and args.accounts:
        raise UsageError("ecr-audit collect: --org and --accounts are mutually exclusive")
    from .ecr import is_account_id

    accounts = _csv(args.accounts) if args.accounts else None
    for a in accounts or []:
        if not is_account_id(a):
            raise UsageError(f"ecr-audit collect: {a!r} is not a 12-digit account id")
    regions = "all" if args.regions == "all" else _csv(args.regions)
    if not args.throttle_budget > 0:
        raise UsageError(
            f"ecr-audit collect: --throttle-budget must be more than 0 seconds, got {args.throttle_budget}"
        )
    from .collect import consumers

    try:
        kinds = consumers.select(args.consumers)
    except ValueError as e:
        raise UsageError(f"ecr-audit collect: --consumers: {e}") from None
    if not 0 <= args.keep_task_definitions <= consumers.MAX_KEEP_TASK_DEFINITIONS:
        raise UsageError(
            f"ecr-audit collect: --keep-task-definitions must be 0 to {consumers.MAX_KEEP_TASK_DEFINITIONS}, "
            f"got {args.keep_task_definitions}"
        )
    if not 1 <= args.pull_days <= consumers.MAX_PULL_DAYS:
        raise UsageError(
            f"ecr-audit collect: --pull-days must be 1 to {consumers.MAX_PULL_DAYS} (CloudTrail keeps 90 days "
            f"of event history), got {args.pull_days}"
        )
    return dict(
        org=args.org,
        accounts=accounts,
        role_name=args.role_name,
        external_id=args.external_id,
        regions=regions,
        read_manifests=args.read_manifests,
        max_workers=args.workers,
        progress=_progress(args),
        throttle_budget=args.throttle_budget,
        consumers=list(kinds),
        keep_task_definitions=args.keep_task_definitions,
        pull_days=args.pull_days,
    )


def cmd_collect(args) -> int:
    from .snapshot import SnapshotError, check_writable, save

    kwargs = _collect_kwargs(args)
    # Before the first AWS call: a collection must never run for minutes and then find it
    # cannot be saved (dangling links, files on the way, foreign directories, no permission).
    out = check_writable(Path(args.out) if args.out else _default_out())
    from .collect import collect

    if args.sandbox:
        from . import sandbox

        with sandbox.running(sandbox.demo_world()) as org:
            kwargs.update(role_name=kwargs["role_name"] or org.role_name)
            if not kwargs["accounts"]:
                kwargs["org"] = True
            inv = collect(org.session(), **kwargs)
        inv.meta["source"] = "sandbox:demo"
    else:
        inv = collect(profile=args.profile, **kwargs)
    try:
        path = save(inv, out)
    except SnapshotError:  # its message names where the data was saved instead
        print(_summary(inv))
        raise
    print(f"wrote {path}")
    print(_summary(inv))
    return COMPLETENESS_EXIT.get(inv.meta.get("completeness"), EXIT_PARTIAL)


def cmd_report(args) -> int:
    from . import report

    params = dict(args.param or [])
    out = Path(args.out) if args.out else Path("reports") / Path(args.snapshot).resolve().name
    timeout = report.DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    results = report.run(
        args.snapshot,
        out,
        only=args.only,
        params=params,
        timeout=timeout,
        log=None if args.quiet else (lambda m: print(m, file=sys.stderr)),
    )
    index = Path(results[0].html).parent / "index.html" if results else None
    print(f"wrote {index}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_REPORT


def cmd_demo(args) -> int:
    from . import report
    from .demo import build_demo_snapshot
    from .snapshot import check_writable, load

    out = Path(args.out)
    snap = check_writable(out / "snapshot")
    _say(args, "building the simulated organization and collecting it ...")
    build_demo_snapshot(snap, progress=None if args.quiet else _progress(args))
    inv = load(snap)
    print(f"snapshot: {snap} — {_summary(inv)}")
    _say(args, "running the report notebooks ...")
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr))
    results = report.run(snap, out / "report", log=log)
    index = (out / "report" / "index.html").resolve()
    print(f"open {index}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_REPORT


def _umask(value: str) -> int:
    try:
        mask = int(value, 8)
    except ValueError:
        mask = -1
    if not 0 <= mask <= 0o777:
        raise argparse.ArgumentTypeError(f"{value!r} is not an octal umask such as 077 or 022")
    return mask


def _under_umask(func):
    """`func(args)` with the process umask set to --umask (snapshots, reports and exports are
    created owner-only by default), restored afterwards."""

    def run(args) -> int:
        before = os.umask(args.umask)
        try:
            return func(args)
        finally:
            os.umask(before)

    return run


def cmd_permissions(args) -> int:
    from . import permissions

    doc = permissions.audit_role_policy() if args.scope == "member" else permissions.caller_policy()
    print(json.dumps(doc, indent=2))
    return EXIT_OK


def cmd_show(args) -> int:
    from .notebook import provenance
    from .snapshot import load

    inv = load(args.snapshot)
    for k, v in provenance(inv).items():
        print(f"{k:>16}: {v}")
    for name, n in inv.counts().items():
        print(f"{name:>24}: {n}")
    return EXIT_OK


def cmd_findings(args) -> int:
    from . import findings
    from .export import to_csv
    from .snapshot import load

    df = findings.findings(load(args.snapshot))
    text = df.to_json(orient="records", date_format="iso", indent=2) if args.format == "json" else to_csv(df)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out} ({len(df)} findings)")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .collect.consumers import KEEP_TASK_DEFINITIONS, PULL_DAYS
    from .collect.reading import THROTTLE_BUDGET_SECONDS

    p = _Parser(prog="ecr-audit", description="Audit Amazon ECR across an AWS Organization.")
    p.add_argument("--version", action="version", version=f"ecr-audit {__version__}")
    p.add_argument(
        "--debug-traceback",
        action="store_true",
        help="re-raise internal errors with their traceback (for bug reports)",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    writes = _Parser(add_help=False)
    writes.add_argument(
        "--umask",
        type=_umask,
        default=0o077,
        metavar="OCTAL",
        help="umask for the files and directories written (default 077: owner only; "
        "022 lets others read them)",
    )

    c = sub.add_parser(
        "collect", help="collect ECR from accounts and regions into a snapshot", parents=[writes]
    )
    c.add_argument("--org", action="store_true", help="every ACTIVE account of the caller's organization")
    c.add_argument("--accounts", help="comma-separated account ids (default: the caller's account)")
    c.add_argument("--role-name", help="role to assume in each account other than the caller's")
    c.add_argument("--external-id", help="ExternalId for AssumeRole")
    c.add_argument("--profile", help="AWS profile for the caller's credentials")
    c.add_argument("--regions", default="all", help="'all' (enabled regions of each account) or a comma list")
    c.add_argument(
        "--read-manifests",
        choices=["auto", "always", "never"],
        default="auto",
        help="auto: only where the tool's principal is excluded from pull-time updates",
    )
    c.add_argument(
        "--out",
        help="snapshot directory: new, empty, or an ecr-audit snapshot to replace "
        "(default snapshots/<UTC timestamp>)",
    )
    c.add_argument("--workers", type=int, default=8, help="account × region units in parallel")
    c.add_argument(
        "--throttle-budget",
        type=float,
        default=THROTTLE_BUDGET_SECONDS,
        metavar="SECONDS",
        help="seconds one persistently throttled read may take in all, retries and pauses "
        "included, before it is recorded as throttled (default %(default)s)",
    )
    c.add_argument(
        "--consumers",
        default="all",
        metavar="all|none|KIND,...",
        help="what uses the images, read in every account × region: all (default: ecs, lambda, batch, "
        "apprunner, sagemaker, emr_serverless, codebuild, inspector — every kind but cloudtrail), none, "
        "or a comma list of kinds; cloudtrail (BatchGetImage pulls, slow: 2 requests a second per "
        "account and region) is read only when named, e.g. all,cloudtrail",
    )
    c.add_argument(
        "--keep-task-definitions",
        type=_whole,
        default=KEEP_TASK_DEFINITIONS,
        metavar="N",
        help="newest ACTIVE revisions of each ECS task definition family counted as consumers "
        "(the rollback window; 0-100, default %(default)s)",
    )
    c.add_argument(
        "--pull-days",
        type=_whole,
        default=PULL_DAYS,
        metavar="N",
        help="with the cloudtrail kind: pulls of the last N days (1-90, default %(default)s)",
    )
    c.add_argument(
        "--sandbox", action="store_true", help="collect the simulated demo organization instead of AWS"
    )
    c.add_argument("--quiet", action="store_true")
    c.add_argument("--verbose", action="store_true")
    c.set_defaults(func=_under_umask(cmd_collect))

    r = sub.add_parser(
        "report", help="run the report notebooks on a snapshot and write HTML", parents=[writes]
    )
    r.add_argument("snapshot")
    r.add_argument("--out", help="report directory (default reports/<snapshot directory name>)")
    r.add_argument("--only", nargs="+", metavar="NAME", help="only these notebooks")
    r.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="notebook parameter (repeatable)",
    )
    r.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="stop a notebook still running after this long; its page says so and the "
        "command exits 5 (default 1800 = 30 min per notebook; 0 = no limit)",
    )
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=_under_umask(cmd_report))

    d = sub.add_parser("demo", help="simulated organization -> snapshot -> HTML audit", parents=[writes])
    d.add_argument("--out", default="reports/demo", help="where the demo snapshot and report go")
    d.add_argument("--quiet", action="store_true")
    d.add_argument("--verbose", action="store_true")
    d.set_defaults(func=_under_umask(cmd_demo))

    f = sub.add_parser("findings", help="export findings with stable ids", parents=[writes])
    f.add_argument("snapshot")
    f.add_argument("--format", choices=["csv", "json"], default="csv")
    f.add_argument("--out", help="file to write (default stdout)")
    f.set_defaults(func=_under_umask(cmd_findings))

    s = sub.add_parser("show", help="summarize a snapshot: provenance and frame sizes")
    s.add_argument("snapshot")
    s.set_defaults(func=cmd_show)

    pe = sub.add_parser("permissions", help="print the least-privilege IAM policy the collector needs")
    pe.add_argument(
        "--scope",
        choices=["member", "caller"],
        default="member",
        help="member: the audit role in each account; caller: the management-account caller",
    )
    pe.set_defaults(func=cmd_permissions)
    return p


def main(argv=None) -> int:
    from botocore.exceptions import BotoCoreError

    from .collect import CollectionError, CredentialsError
    from .collect.errors import credentials_fix, scrub
    from .snapshot import SnapshotError

    try:
        from .report import ReportError
    except ImportError:  # report extras not installed
        ReportError = SnapshotError
    args = None
    _quiet_library_logs()
    try:
        args = build_parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()  # here, not at exit: a closed pipe is then this function's to handle
        return code
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return EXIT_INPUT
    except (SnapshotError, ReportError) as e:
        print(f"ecr-audit: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except CredentialsError as e:
        print(f"ecr-audit: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except CollectionError as e:
        print(f"ecr-audit: error: {e}", file=sys.stderr)
        return EXIT_EMPTY
    except KeyboardInterrupt:
        print("ecr-audit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    except Exception as e:
        fix = credentials_fix(e, getattr(args, "profile", None))
        if fix is not None:
            print(f"ecr-audit: error: {fix}", file=sys.stderr)
            return EXIT_INPUT
        if isinstance(e, BotoCoreError):
            print(f"ecr-audit: error: AWS client failed: {scrub(e)}", file=sys.stderr)
            return EXIT_EMPTY
        if isinstance(e, OSError) and e.filename:
            print(f"ecr-audit: error: {e.filename}: {e.strerror}", file=sys.stderr)
            return EXIT_INPUT
        if getattr(args, "debug_traceback", False):
            raise
        print(
            f"ecr-audit: internal error: {type(e).__name__}: {scrub(e)} "
            "(run with --debug-traceback for the traceback)",
            file=sys.stderr,
        )
        return EXIT_BUG


def _quiet_library_logs() -> None:
    """botocore logs warnings ("Refreshing temporary credentials failed ...") that Python would
    print to stderr beside the CLI's own one-line message; the CLI says what happened itself.
    Left alone when the user configured logging."""
    import logging

    botocore = logging.getLogger("botocore")
    if not logging.getLogger().handlers and not botocore.handlers:
        botocore.addHandler(logging.NullHandler())


def _silence_stdout() -> None:
    """The reader closed the pipe: send what Python still has to flush to /dev/null, so the exit
    does not print "Exception ignored ... BrokenPipeError" (the Python docs' SIGPIPE recipe)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured, closed)
        pass


if __name__ == "__main__":
    sys.exit(main())
