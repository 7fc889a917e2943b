"""`ecr-audit` command line. Thin: parses arguments, calls the package, maps outcomes to exit codes.

Exit codes:
  0  complete
  1  internal error (a bug: please report it with the message)
  2  bad input: arguments, a missing or invalid snapshot, an unwritable output directory, an
     optional part of the package (an extra) that the command needs and that is not installed
  3  partial: collection finished but some reads failed (see the errors frame)
  4  nothing could be collected
  5  a report notebook failed (the other pages were still written)
  6  worse than before (`diff`, `run`): a new critical or high finding, or a grant widened
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
import ast
import difflib
import importlib.util
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_PARTIAL, EXIT_EMPTY, EXIT_REPORT = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141
EXIT_WORSE = 6
COMPLETENESS_EXIT = {"complete": EXIT_OK, "partial": EXIT_PARTIAL, "empty": EXIT_EMPTY}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """One-line errors (exit 2, no usage dump); `epilog_fn` builds the epilog only when help is shown
    (the report's list of notebooks reads files)."""

    def __init__(self, *args, epilog_fn=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._epilog_fn = epilog_fn

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see --help)")

    def format_help(self):
        if self._epilog_fn is not None:
            self.epilog = self._epilog_fn()
        return super().format_help()


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Epilogs keep their line breaks (examples, exit codes); an option with a default shows it
    (unless its help already says it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "default" in text or default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


# -- optional parts of the package ----------------------------------------------------------------
# The extras of pyproject.toml and the modules of each that a command imports. A command whose
# extra is missing is a usage error (exit 2) with the line that installs it, never an internal error.
EXTRAS = {
    "reports": ("papermill", "nbconvert", "nbformat", "ipykernel", "matplotlib"),
    "sandbox": ("moto",),
    "lab": ("jupyterlab",),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken module entry
        return False


def _install_line(extras) -> str:
    return f"pip install 'ecr-audit[{','.join(extras)}]'"


def _require(command: str, *extras: str) -> None:
    """UsageError naming the missing modules and the pip line, unless every extra is installed."""
    missing = {e: [m for m in EXTRAS[e] if not _installed(m)] for e in extras}
    missing = {e: ms for e, ms in missing.items() if ms}
    if missing:
        modules = ", ".join(m for ms in missing.values() for m in ms)
        raise UsageError(
            f"ecr-audit {command} needs the {' and '.join(missing)} extra"
            f"{'s' if len(missing) > 1 else ''} ({modules} not installed): {_install_line(missing)}"
        )


def _extra_of(module: str | None) -> str | None:
    top = (module or "").split(".")[0]
    return next((e for e, ms in EXTRAS.items() if top in ms), None)


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
    """One line: accounts reached (and what became of them), regions, repositories, images, errors.

    An account is reached when the tool could act in it (its own, or AssumeRole worked), whether or
    not its regions could then be read; skipped accounts (not ACTIVE) are not counted."""
    c = inv.counts()
    regions = inv.coverage["region"].nunique() if len(inv.coverage) else 0
    acc = inv.accounts
    tried = acc[acc["collection_status"] != "skipped"]
    reached = int(tried["principal_arn"].notna().sum())
    status = tried["collection_status"].value_counts()
    outcome = ", ".join(
        [f"{int(status.get('collected', 0))} collected"]
        + [f"{int(status[s])} {s}" for s in ("partial", "failed") if status.get(s, 0)]
    )
    of = f" of {len(tried)}" if reached != len(tried) else ""
    return (
        f"{reached}{of} accounts reached ({outcome}), {regions} regions, {c['repositories']} repositories, "
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
    if args.org and not args.role_name and not args.sandbox:
        raise UsageError(
            "ecr-audit collect: --org needs --role-name: the role ecr-audit assumes in every member "
            "account (README: Using it on a real organization)"
        )
    regions = "all" if args.regions == "all" else _check_regions(_csv(args.regions))
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
        identities=not args.no_identities,
        org_policies=not args.no_org_policies,
        consumers=list(kinds),
        keep_task_definitions=args.keep_task_definitions,
        pull_days=args.pull_days,
    )


def _closest(name: str, known) -> list[str]:
    """The known names most like `name` (difflib's ratio), all of them when tied: us-est-1 is one
    letter from both us-east-1 and us-west-1."""
    scores = {k: difflib.SequenceMatcher(None, name, k).ratio() for k in known}
    best = max(scores.values(), default=0.0)
    return sorted(k for k, v in scores.items() if v == best) if best >= 0.6 else []


def _check_regions(names: list[str]) -> list[str]:
    """`names`, or UsageError for the first one no partition's ECR serves (botocore's endpoint data)."""
    from .collect.regions import known_ecr_regions

    if not names:
        raise UsageError(
            "ecr-audit collect: --regions is empty: give region codes (us-east-1,eu-west-1) or all"
        )
    known = known_ecr_regions()
    for name in names:
        if name not in known:
            close = _closest(name, known)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise UsageError(
                f"ecr-audit collect: {name!r} is not a region with ECR{hint}; --regions takes region "
                "codes such as us-east-1,eu-west-1, or all (a region newer than this botocore needs "
                "a newer boto3)"
            )
    return names


def cmd_collect(args) -> int:
    from .snapshot import SnapshotError, check_writable, save

    if args.sandbox:
        _require("collect --sandbox", "sandbox")
    kwargs = _collect_kwargs(args)
    # Before the first AWS call: a collection must never run for minutes and then find it
    # cannot be saved (dangling links, files on the way, foreign directories, no permission).
    out = check_writable(_collect_out(args))
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


def _check_report_params(params: dict) -> None:
    """Parameters whose value can be checked without running a notebook: files that must exist and
    parse, a what-if lifecycle policy that must be valid. UsageError naming the parameter."""

    def bad(name, why):
        return UsageError(f"ecr-audit report: parameter {name}: {why}")

    for name in ("price_file", "billed_csv"):
        value = params.get(name)
        if not value:
            continue
        path = Path(value)
        if not path.is_file():
            raise bad(name, f"no such file {str(path.resolve())!r}")
        from . import cost

        try:
            cost.load_prices(path) if name == "price_file" else cost.read_billed(path)
        except (ValueError, KeyError, OSError, UnicodeDecodeError) as e:
            raise bad(name, f"{value} cannot be read: {e}") from None
    policy = params.get("whatif_policy")
    if policy:
        from . import lifecycle

        errors = lifecycle.parse(policy).errors
        if errors:
            listed = "; ".join(f"{p.where}: {p.message}" for p in errors[:3])
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            raise bad("whatif_policy", f"not a valid lifecycle policy: {listed}{more}")


def cmd_report(args) -> int:
    _require("report", "reports")
    from . import report

    params = dict(args.param or [])
    _check_report_params(params)
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
    _require("demo", "sandbox", "reports")
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


# -- findings: CSV, JSON and the standard exports (issue 17) ---------------------------------------
FINDINGS_FORMATS = ("csv", "json", "ocsf", "asff", "parquet")
FINDINGS_TO_DIRECTORY = ("asff", "parquet")  # one file per account / a partitioned dataset


def _finding_states(args, inv):
    """The change states of `inv`'s findings against --previous, or None without it."""
    if not args.previous:
        return None
    from . import times
    from .snapshot import load

    before = load(args.previous)
    old, new = before.meta.get("collected_at"), inv.meta.get("collected_at")
    if old and new and times.as_of(before) >= times.as_of(inv):
        raise UsageError(
            f"ecr-audit findings: --previous {args.previous} was collected at {old}, not before "
            f"{args.snapshot} ({new}): give the older snapshot as --previous"
        )
    from .changes import finding_states

    return finding_states([before, inv], evidence=True)  # a resolved finding keeps its last evidence


def cmd_findings(args) -> int:
    from . import exports, findings
    from .export import to_csv
    from .snapshot import load

    if args.format in FINDINGS_TO_DIRECTORY:
        if not args.out:
            raise UsageError(f"ecr-audit findings: --format {args.format} writes a directory: give --out DIR")
        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise UsageError(f"ecr-audit findings: --out {args.out} exists and is not a directory")
    inv = load(args.snapshot)
    states = _finding_states(args, inv)
    plain = states is None and args.format in ("csv", "json")  # the findings frame as before
    df = findings.findings(inv) if plain else exports.frame(inv, states)
    if args.format == "asff":
        paths = exports.write_asff(df, inv.meta, args.out)
        print(f"wrote {len(paths)} file(s) to {args.out} ({len(df)} findings, one file per account)")
        return EXIT_OK
    if args.format == "parquet":
        exports.write_parquet(df, args.out, Path(args.snapshot).resolve().name)
        print(f"wrote {args.out} ({len(df)} findings, partitioned by account_id and date)")
        return EXIT_OK
    if args.format == "ocsf":
        if args.out:
            n = exports.write_ocsf(df, inv.meta, args.out)
            print(f"wrote {args.out} ({n} OCSF {exports.OCSF_VERSION} Detection Findings)")
        else:
            exports.write_ocsf(df, inv.meta, sys.stdout)
        return EXIT_OK
    text = df.to_json(orient="records", date_format="iso", indent=2) if args.format == "json" else to_csv(df)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out} ({len(df)} findings)")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _findings_parser(command, writes) -> None:
    f = command(
        "findings",
        "export one row per finding, with stable ids: CSV, JSON, OCSF, ASFF (Security Hub) or Parquet",
        "  ecr-audit findings snapshots/2026-11-27 --format csv --out findings.csv\n"
        "  ecr-audit findings snapshots/2026-11-27 --format json | jq '.[0]'\n"
        "  ecr-audit findings snapshots/2026-11-27 --previous snapshots/2026-11-20 --format ocsf --out f.jsonl\n"
        "  ecr-audit findings snapshots/2026-11-27 --format asff --out asff/\n"
        "  ecr-audit findings snapshots/2026-11-27 --format parquet --out lake/ecr-audit-findings",
        "0 ok, 2 bad input",
        parents=[writes],
    )
    f.add_argument("snapshot", help="snapshot directory")
    f.add_argument(
        "--format",
        choices=FINDINGS_FORMATS,
        default="csv",
        help="csv, json; ocsf: OCSF 1.5.0 Detection Findings as JSON lines; asff: AWS Security Finding "
        "Format, one file per account of BatchImportFindings requests (<= 100 findings each); parquet: "
        "a dataset partitioned by account_id and date (docs/exports.md)",
    )
    f.add_argument(
        "--previous",
        metavar="SNAPSHOT",
        help="an older snapshot: add each finding's change state (new, persisting, reopened, resolved, "
        "unknown) and first/last seen; OCSF activity create/update/close follows it",
    )
    f.add_argument("--out", help="file to write (a directory for asff and parquet; default: standard output)")
    f.set_defaults(func=_under_umask(cmd_findings))


# -- end of findings ------------------------------------------------------------------------------


# -- help texts -----------------------------------------------------------------------------------

EXIT_CODES = """exit codes:
  0    complete
  1    internal error (a bug; ecr-audit --debug-traceback ... shows its traceback)
  2    bad input: arguments, a missing or invalid snapshot or file, an unwritable directory,
       credentials missing, expired or refused, an extra the command needs not installed
  3    partial: some reads failed (rows of the snapshot's errors frame; every report shows them)
  4    nothing could be collected (or AWS could not say who the caller is, after retries)
  5    a report notebook failed (the other pages were written; the failed page says why)
  6    worse than before (diff, run): a new critical or high finding, a widened grant, or a
       grant added to a public or external grantee
  130  interrupted
  141  the reader of the output went away (ecr-audit show SNAP | head)"""


def _epilog(examples: str, codes: str) -> str:
    return f"examples:\n{examples}\n\nexit codes: {codes} (ecr-audit --help lists every code)"


def _notebook_parameters(path: Path) -> list[tuple[str, str, str]]:
    """(name, default source, description) of a notebook's parameters, read from its JSON without
    papermill (help works on a base install): the assignments of the cell tagged `parameters`, and
    the Markdown list items (`- NAME: text`, continued on indented lines) that document them."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    docs, params, current = {}, [], None
    for cell in nb.get("cells", []):
        src = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown":
            for line in src.splitlines():
                item = line.strip()
                if item.startswith("- `") and "`:" in item:
                    current, _, text = item[3:].partition("`:")
                    docs[current] = text.strip()
                elif current and line[:1].isspace() and item:
                    docs[current] += " " + item
                else:
                    current = None
        elif "parameters" in cell.get("metadata", {}).get("tags", []):
            for node in ast.parse(src).body:
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    params.append((node.targets[0].id, ast.get_source_segment(src, node.value) or ""))
    return [(n, d, docs.get(n, "")) for n, d in params]


def _report_epilog() -> str:
    import textwrap

    from . import report

    lines = ["reports (--only NAME) and their parameters (-p NAME VALUE; default in brackets):"]
    for name, path in report.notebooks().items():
        lines.append(f"  {name}")
        for pname, default, doc in _notebook_parameters(path):
            if pname not in report.RESERVED:
                text = f"{pname} [{default}]" + (f": {doc}" if doc else "")
                lines += textwrap.wrap(text, 100, initial_indent="    ", subsequent_indent="        ")
    lines.append("  (the snapshot is always the SNAPSHOT argument)")
    examples = (
        "  ecr-audit report snapshots/2026-11-27 --out reports/2026-11-27\n"
        "  ecr-audit report snapshots/2026-11-27 --only storage_cost -p price_file prices.csv -p top_n 50"
    )
    return "\n".join(lines) + "\n\n" + _epilog(examples, "0 ok, 2 bad input, 5 a notebook failed")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .collect.consumers import KEEP_TASK_DEFINITIONS, PULL_DAYS
    from .collect.reading import THROTTLE_BUDGET_SECONDS

    p = _Parser(
        prog="ecr-audit",
        description="Audit Amazon ECR across an AWS Organization: collect a snapshot, then report on it\n"
        "offline (access, orphaned images, lifecycle policies, storage cost).",
        epilog="examples:\n  ecr-audit demo\n"
        "  ecr-audit collect --accounts 111122223333 --regions us-east-1 --out snapshots/first\n"
        "  ecr-audit collect --org --role-name ecr-audit --out snapshots/2026-11-27\n"
        "  ecr-audit report snapshots/2026-11-27\n"
        "  ecr-audit COMMAND --help\n\n" + EXIT_CODES,
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"ecr-audit {__version__}")
    p.add_argument(
        "--debug-traceback",
        action="store_true",
        help="re-raise internal errors with their traceback (for bug reports)",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    writes = _Parser(add_help=False)
    writes.add_argument(
        "--umask",
        type=_umask,
        default="077",
        metavar="OCTAL",
        help="umask for the files and directories written (077: owner only; 022 lets others read them)",
    )

    def command(name, summary, examples, codes, parents=(), **kw):
        return sub.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=_epilog(examples, codes) if examples else None,
            formatter_class=_HelpFormatter,
            parents=list(parents),
            **kw,
        )

    c = command(
        "collect",
        "collect ECR from accounts and regions into a snapshot (read-only)",
        "  ecr-audit collect --accounts 111122223333 --regions us-east-1 --out snapshots/first\n"
        "  ecr-audit collect --org --role-name ecr-audit --out snapshots/2026-11-27\n"
        "  ecr-audit collect --sandbox --out snapshots/demo",
        "0 complete, 2 bad input or credentials, 3 partial, 4 nothing collected",
        parents=[writes],
    )
    c.add_argument("--org", action="store_true", help="every ACTIVE account of the caller's organization")
    c.add_argument(
        "--accounts", metavar="ID,...", help="comma-separated account ids (default: the caller's account)"
    )
    c.add_argument(
        "--role-name", help="role to assume in each account other than the caller's (needed with --org)"
    )
    c.add_argument("--external-id", help="ExternalId for AssumeRole")
    c.add_argument("--profile", help="AWS profile for the caller's credentials (default: the boto3 chain)")
    c.add_argument(
        "--regions",
        default="all",
        metavar="all|REGION,...",
        help="'all' (the enabled regions of each account) or region codes such as us-east-1,eu-west-1",
    )
    c.add_argument(
        "--read-manifests",
        choices=["auto", "always", "never"],
        default="auto",
        help="auto: only where the tool's principal is excluded from pull-time updates",
    )
    c.add_argument(
        "--out",
        help="snapshot directory: new, empty, or an ecr-audit snapshot to replace "
        "(default: snapshots/<UTC timestamp>)",
    )
    c.add_argument("--workers", type=int, default=8, help="account × region units collected in parallel")
    c.add_argument(
        "--throttle-budget",
        type=float,
        default=THROTTLE_BUDGET_SECONDS,
        metavar="SECONDS",
        help="seconds one persistently throttled read may take in all, retries and pauses "
        "included, before it is recorded as throttled",
    )
    c.add_argument(
        "--no-identities",
        action="store_true",
        help="do not read IAM users, roles, groups and policies (iam:GetAccountAuthorizationDetails)",
    )
    c.add_argument(
        "--no-org-policies",
        action="store_true",
        help="with --org: do not read the organization's SCPs and RCPs (organizations:ListPolicies, ...)",
    )
    c.add_argument(
        "--consumers",
        default="all",
        metavar="all|none|KIND,...",
        help="what uses the images, read in every account × region: all (ecs, lambda, batch, "
        "apprunner, sagemaker, emr_serverless, codebuild, inspector — every kind but cloudtrail), none, "
        "or a comma list of kinds; cloudtrail (BatchGetImage pulls, slow: 2 requests a second per "
        "account and region) is read only when named, e.g. all,cloudtrail (default: %(default)s)",
    )
    c.add_argument(
        "--keep-task-definitions",
        type=_whole,
        default=KEEP_TASK_DEFINITIONS,
        metavar="N",
        help="newest ACTIVE revisions of each ECS task definition family counted as consumers "
        "(the rollback window; 0-100; default: %(default)s)",
    )
    c.add_argument(
        "--pull-days",
        type=_whole,
        default=PULL_DAYS,
        metavar="N",
        help="with the cloudtrail kind: pulls of the last N days (1-90; default: %(default)s)",
    )
    c.add_argument(
        "--sandbox", action="store_true", help="collect the simulated demo organization instead of AWS"
    )
    c.add_argument("--quiet", action="store_true", help="no progress on stderr")
    c.add_argument(
        "--verbose", action="store_true", help="one line per account and per account × region as it finishes"
    )
    c.set_defaults(func=_under_umask(cmd_collect))

    r = command(
        "report",
        "run the report notebooks on a snapshot and write self-contained HTML pages",
        "",
        "",
        parents=[writes],
        epilog_fn=_report_epilog,
    )
    r.add_argument("snapshot", help="snapshot directory (ecr-audit collect --out)")
    r.add_argument("--out", help="report directory (default: reports/<snapshot directory name>)")
    r.add_argument("--only", nargs="+", metavar="NAME", help="only these reports (listed below)")
    r.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="notebook parameter, repeatable (listed below)",
    )
    r.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="stop a notebook still running after this long; its page says so and the "
        "command exits 5 (default 1800 = 30 min per notebook; 0 = no limit)",
    )
    r.add_argument("--quiet", action="store_true", help="no progress on stderr")
    r.set_defaults(func=_under_umask(cmd_report))

    d = command(
        "demo",
        "build the simulated organization, collect it and write the HTML audit (no AWS needed)",
        "  ecr-audit demo\n  ecr-audit demo --out /tmp/ecr-demo",
        "0 ok, 2 bad input or an extra missing, 5 a notebook failed",
        parents=[writes],
    )
    d.add_argument("--out", default="reports/demo", help="where the demo snapshot and report go")
    d.add_argument("--quiet", action="store_true", help="no progress on stderr")
    d.add_argument(
        "--verbose", action="store_true", help="one line per account and per account × region as it finishes"
    )
    d.set_defaults(func=_under_umask(cmd_demo))

    _findings_parser(command, writes)

    s = command(
        "show",
        "summarize a snapshot: provenance and frame sizes",
        "  ecr-audit show snapshots/2026-11-27",
        "0 ok, 2 bad input, 141 the reader went away",
    )
    s.add_argument("snapshot", help="snapshot directory")
    s.set_defaults(func=cmd_show)

    pe = command(
        "permissions",
        "print the least-privilege IAM policy the collector needs",
        "  ecr-audit permissions > audit-role-policy.json\n"
        "  ecr-audit permissions --scope caller > caller-policy.json",
        "0 ok, 2 bad input",
    )
    pe.add_argument(
        "--scope",
        choices=["member", "caller"],
        default="member",
        help="member: the audit role in each account; caller: the management-account caller",
    )
    pe.set_defaults(func=cmd_permissions)
    _history_commands(command, c, r, writes)
    return p


# -- history, diff and run (issue 17) ---------------------------------------------------------------
# `collect --history DIR`, `history DIR`, `diff OLD NEW`, `run --history DIR`; docs/history.md.

RUN_PRECEDENCE = "4 nothing collected > 6 worse than before > 5 a page failed > 3 partial > 0"


def _collect_out(args) -> Path:
    """Where `collect` (and `run`) write: --out, a new DIR/<UTC time> of --history, or the default."""
    if getattr(args, "history", None):
        if getattr(args, "out", None):
            raise UsageError("ecr-audit collect: --history and --out are mutually exclusive")
        from . import history

        directory = Path(args.history)
        if directory.exists() and not directory.is_dir():
            raise UsageError(f"ecr-audit: --history {args.history}: is not a directory")
        if (directory / "manifest.json").exists():  # a snapshot inside a snapshot would spoil it
            raise UsageError(
                f"ecr-audit: --history {args.history}: is a snapshot, not a history directory; give "
                "the directory that holds the snapshots"
            )
        return history.new_path(directory)
    return Path(args.out) if args.out else _default_out()


def _snapshot_time(path: str):
    import pandas as pd

    from .snapshot import read_manifest

    raw = (read_manifest(path).get("meta") or {}).get("collected_at")
    return pd.Timestamp(raw) if raw else None


def cmd_diff(args) -> int:
    from . import changes
    from .export import to_csv

    old, new = Path(args.old), Path(args.new)
    for p in (old, new):
        if not p.exists():
            raise UsageError(f"ecr-audit diff: {p}: no such snapshot directory")
    if old.resolve() == new.resolve():
        raise UsageError("ecr-audit diff: OLD and NEW are the same snapshot; give two snapshots to compare")
    t_old, t_new = _snapshot_time(args.old), _snapshot_time(args.new)
    if t_old is not None and t_new is not None and t_old > t_new:
        raise UsageError(
            f"ecr-audit diff: OLD ({t_old:%Y-%m-%d %H:%M:%S}) is newer than NEW ({t_new:%Y-%m-%d %H:%M:%S}); "
            "give the older snapshot first"
        )
    try:
        c = changes.diff(old, new)
    except changes.ChangesError as e:
        raise UsageError(f"ecr-audit diff: {e}") from None
    if args.format == "json":
        text = json.dumps(changes.to_json(c), indent=2, default=str) + "\n"
    elif args.format == "csv":
        text = to_csv(changes.to_table(c))
    else:
        text = changes.to_text(c)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({'worse than before' if c.got_worse else 'nothing got worse'})")
    else:
        sys.stdout.write(text)
    return EXIT_WORSE if c.got_worse else EXIT_OK


def cmd_history(args) -> int:
    from . import history
    from .changes import terminal_text as t

    try:
        removed = history.prune(
            args.directory, keep=args.keep, keep_days=args.keep_days, dry_run=args.dry_run
        )
        listed = history.snapshots(args.directory, verify=args.verify)
    except history.HistoryError as e:
        raise UsageError(f"ecr-audit history: {e}") from None
    verb = "would remove" if args.dry_run else "removed"
    for path in removed:
        print(f"{verb} {t(str(path))}")
    if listed.empty:
        print(f"{t(args.directory)}: no snapshots")
    for r in listed.itertuples(index=False):
        when = (
            ""
            if r.collected_at is None or r.collected_at != r.collected_at
            else f"{r.collected_at:%Y-%m-%d %H:%M:%S}Z"
        )
        if r.is_loadable:
            print(
                f"{t(r.name)}  {when}  {t(r.completeness)}  {r.accounts} accounts  {r.regions} regions  "
                f"{r.errors} errors  {t(r.source)}"
            )
        else:
            print(f"{t(r.name)}  {when}  NOT LOADABLE: {t(r.problem)}")
    return EXIT_OK


def _declares(parameter: str, only=None) -> bool:
    """Does a report notebook (of `only`, when given) take `parameter` (read without papermill)?"""
    from . import report

    return any(
        parameter in {n for n, _d, _t in _notebook_parameters(p)}
        for name, p in report.notebooks().items()
        if not only or name in only
    )


def cmd_run(args) -> int:
    _require("run", "reports")
    if args.sandbox:
        _require("run --sandbox", "sandbox")
    from . import changes, history, report
    from .snapshot import load

    params = dict(args.param or [])
    _check_report_params(params)
    if "previous" in params:
        raise UsageError(
            "ecr-audit run: -p previous is set by run itself (the previous snapshot of --history)"
        )
    report.resolve(args.only, params)  # unknown pages or parameters: before any AWS call
    snap = _collect_out(args)  # DIR/<UTC time>
    directory, args.out, args.history = args.history, str(snap), None
    code = cmd_collect(args)  # prints the snapshot's path and summary
    args.history = directory
    if code == EXIT_EMPTY:
        print("nothing was collected: no report, no changes")
        return EXIT_EMPTY
    prev = history.previous(snap)
    if prev is not None and _declares("previous", args.only):
        params["previous"] = str(prev)
    out = Path(args.report_out) if args.report_out else Path("reports") / snap.name
    timeout = report.DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr))
    results = report.run(snap, out, only=args.only, params=params, timeout=timeout, log=log)
    print(f"wrote {out.resolve() / 'index.html'}")
    if not (out / "findings.csv").exists():
        from . import findings
        from .export import to_csv

        df = findings.findings(load(snap))
        (out / "findings.csv").write_text(to_csv(df), encoding="utf-8")
        (out / "findings.json").write_text(df.to_json(orient="records", date_format="iso", indent=2))
    worse = False
    if prev is None:
        print(f"no earlier snapshot in {args.history} to compare with: no changes this time")
    else:
        try:
            c = changes.diff(prev, snap)
        except changes.ChangesError as e:
            print(f"changes not computed: {e}")
        else:
            (out / "changes.json").write_text(json.dumps(changes.to_json(c), indent=2, default=str) + "\n")
            sys.stdout.write(changes.to_text(c))
            print(f"wrote {out.resolve() / 'changes.json'}")
            worse = c.got_worse
    if worse:
        return EXIT_WORSE
    if not all(r.ok for r in results):
        return EXIT_REPORT
    return code


def _history_commands(command, collect_parser, report_parser, writes) -> None:
    """Add --history to `collect` and the commands history, diff and run."""
    collect_parser.add_argument(
        "--history",
        metavar="DIR",
        help="write the snapshot as DIR/<UTC time> (a history directory; instead of --out)",
    )
    h = command(
        "history",
        "list the snapshots of a history directory; prune old ones",
        "  ecr-audit history snapshots\n  ecr-audit history snapshots --keep 30 --keep-days 90",
        "0 ok, 2 bad input",
    )
    h.add_argument("directory", help="history directory (collect --history DIR)")
    h.add_argument("--keep", type=int, metavar="N", help="keep the N newest snapshots, remove older ones")
    h.add_argument(
        "--keep-days", type=float, metavar="D", help="keep snapshots collected less than D days ago"
    )
    h.add_argument("--dry-run", action="store_true", help="say what --keep / --keep-days would remove")
    h.add_argument(
        "--verify", action="store_true", help="also check every file's checksum (reads every byte)"
    )
    h.set_defaults(func=_checked_history)

    d = command(
        "diff",
        "what changed between two snapshots; exit 6 when something got worse",
        "  ecr-audit diff snapshots/20261127T020000Z snapshots/20261128T020000Z\n"
        "  ecr-audit diff OLD NEW --format json --out changes.json",
        "0 nothing got worse, 2 bad input, 6 worse: a new critical/high finding or a widened grant",
        parents=[writes],
    )
    d.add_argument("old", help="the older snapshot")
    d.add_argument("new", help="the newer snapshot")
    d.add_argument("--format", choices=["text", "json", "csv"], default="text", help="output format")
    d.add_argument("--out", help="file to write (default: standard output)")
    d.set_defaults(func=_under_umask(cmd_diff))

    run = command(
        "run",
        "collect into a history directory, report, export findings and the changes since the last run",
        "  ecr-audit run --history snapshots --org --role-name ecr-audit --report-out reports/latest\n"
        "  ecr-audit run --history snapshots --sandbox\n"
        "  (the pages for --only and their -p parameters: ecr-audit report --help)",
        f"0 ok, 2 bad input, 3 partial, 4 nothing collected, 5 a page failed, 6 worse; when several "
        f"apply: {RUN_PRECEDENCE}",
        parents=[writes],
    )
    taken = {"help", "out", "umask", "history"}
    for action in collect_parser._actions:
        if action.dest not in taken:
            run._add_action(action)
            taken.add(action.dest)
    run.add_argument("--history", metavar="DIR", required=True, help="history directory of the snapshots")
    run.add_argument("--report-out", help="report directory (default: reports/<snapshot name>)")
    for action in report_parser._actions:
        if action.dest in ("only", "param", "timeout") and action.dest not in taken:
            run._add_action(action)
    run.set_defaults(func=_under_umask(cmd_run))


def _checked_history(args) -> int:
    if args.keep is not None and args.keep < 1:
        raise UsageError("ecr-audit history: --keep must be at least 1 (the newest snapshot is always kept)")
    if args.keep_days is not None and not args.keep_days >= 0:
        raise UsageError("ecr-audit history: --keep-days must be a number of days >= 0")
    return cmd_history(args)


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
    except ModuleNotFoundError as e:
        extra = _extra_of(e.name)
        if extra is None:
            return _internal_error(e, args)
        command = getattr(args, "command", None) or "this command"
        print(
            f"ecr-audit: error: {command} needs the {extra} extra ({e.name} is not installed): "
            f"{_install_line([extra])}",
            file=sys.stderr,
        )
        return EXIT_INPUT
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
        return _internal_error(e, args)


def _internal_error(e: BaseException, args) -> int:
    from .collect.errors import scrub

    if getattr(args, "debug_traceback", False):
        raise e
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
