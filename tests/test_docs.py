"""The project's own documentation (docs/ and README.md) holds together.

Every relative link and anchor resolves, docs/frames.md matches the schema, every ECR fact names
its source and evidence level, and nothing points at documents that are not in the repository.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
FACT_PAGES = [DOCS / "ecr.md", DOCS / "access.md", DOCS / "organization-policies.md", DOCS / "consumers.md"]
CODE_DIRS = ["ecr_audit", "tests", "benchmarks"]
CODE_FILES = ["README.md", "RELIABILITY.md"]
# Citations of background documents kept outside the repository (assembled so this file does not match).
OUTSIDE = re.compile(
    "|".join(["ecr" + "-facts", "moto" + "-notes", "DESIGN" + r"\.md", "/work/" + "shared"]), re.IGNORECASE
)

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[(?:[^\[\]\n]|\[[^\]\n]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=[\"']([^\"']+)[\"']", re.IGNORECASE)


def _prose(text: str) -> str:
    """Markdown without fenced code blocks (a `# comment` in a shell block is not a heading)."""
    return _FENCE.sub("", text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup dropped, lower case, punctuation removed,
    spaces turned into hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = _prose(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set(_HTML_ANCHOR.findall(text))
    for _level, heading in _HEADING.findall(text):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    text = _INLINE_CODE.sub("", _prose(path.read_text(encoding="utf-8")))
    return _LINK.findall(text)


def _broken(page: Path, target: str) -> str | None:
    """Why `target` (a link written in `page`) does not resolve, or None."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:, ...
        return None
    path_part, _, anchor = target.partition("#")
    dest = (page.parent / path_part).resolve() if path_part else page
    if not dest.exists():
        return f"{target}: no such file"
    if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
        return f"{target}: no heading with anchor #{anchor} in {dest.name}"
    return None


def test_slug_follows_github_for_the_headings_used_here():
    assert slug("Pull time") == "pull-time"
    assert slug("OCI 1.1 referrers") == "oci-11-referrers"
    assert slug("Why is an untagged image not an orphan?") == "why-is-an-untagged-image-not-an-orphan"
    assert slug("`manifest_references`") == "manifest_references"
    assert slug("Replication, pull-through cache") == "replication-pull-through-cache"


def test_a_broken_link_or_anchor_is_detected(tmp_path):
    page = tmp_path / "a.md"
    page.write_text("# Title\n\n## Real section\n\n```bash\n# not a heading\n```\n")
    assert _broken(page, "#real-section") is None
    assert _broken(page, "#not-a-heading") is not None
    assert _broken(page, "missing.md") is not None
    assert _broken(page, "a.md#nowhere") is not None
    assert _broken(page, "https://docs.aws.amazon.com/AmazonECR/latest/userguide/images.html") is None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    problems = [p for t in links(page) if (p := _broken(page, t))]
    assert not problems, "\n".join(problems)


def test_docs_pages_are_all_reachable_from_the_docs_index():
    linked = {(DOCS / t.partition("#")[0]).resolve() for t in links(DOCS / "README.md") if ":" not in t}
    pages = {p.resolve() for p in DOCS.glob("*.md")} - {(DOCS / "README.md").resolve()}
    assert not pages - linked, f"not linked from docs/README.md: {sorted(p.name for p in pages - linked)}"


def _gen_frames():
    spec = importlib.util.spec_from_file_location("gen_frames", DOCS / "gen_frames.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frames_page_is_current_with_the_schema():
    expected = _gen_frames().render()
    actual = (DOCS / "frames.md").read_text()
    assert actual == expected, "docs/frames.md is stale: run PYTHONPATH=. python docs/gen_frames.py"


def test_frames_page_lists_every_column_of_every_frame():
    from ecr_audit import schema

    text = (DOCS / "frames.md").read_text()
    headings = set(re.findall(r"^## (\S+)$", text, re.MULTILINE))
    assert headings == set(schema.FRAMES)
    for frame in schema.FRAMES.values():
        section = text.split(f"\n## {frame.name}\n", 1)[1].split("\n## ", 1)[0]
        assert [f"`{c.name}`" for c in frame.columns] == re.findall(
            r"^\| (`[^`]+`) \|", section, re.MULTILINE
        )


def _sections(path: Path) -> list[tuple[str, str]]:
    text = _prose(path.read_text(encoding="utf-8"))
    parts = re.split(r"^(#{2,6} .+)$", text, flags=re.MULTILINE)
    return list(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("page", FACT_PAGES, ids=lambda p: p.name)
def test_every_stated_fact_has_a_source_link_and_an_evidence_level(page):
    facts = [(h, body) for h, body in _sections(page) if "**Fact.**" in body]
    assert facts, f"{page.name} states no facts"
    for heading, body in facts:
        assert "**Source.**" in body and re.search(r"\]\(https://", body), f"{heading}: no source link"
        evidence = re.search(r"\*\*Evidence:\*\*(.+?)(?:\n\n|$)", body, re.DOTALL)
        assert evidence, f"{heading}: no evidence level"
        assert re.search(r"\b(documented|observed|inferred)\b", evidence.group(1)), (
            f"{heading}: unknown level"
        )


def test_docs_never_point_at_documents_outside_the_repository():
    for path in [*DOCS.glob("*.md"), DOCS / "gen_frames.py", ROOT / "README.md"]:
        hits = [line for line in path.read_text(encoding="utf-8").splitlines() if OUTSIDE.search(line)]
        assert not hits, f"{path.relative_to(ROOT)}: {hits}"


def _code_files() -> list[Path]:
    return [ROOT / f for f in CODE_FILES] + [
        p
        for d in CODE_DIRS
        for p in (ROOT / d).rglob("*")
        if p.suffix in (".py", ".md", ".ipynb") and p.is_file()
    ]


def test_no_code_or_document_cites_a_document_outside_the_repository():
    """Every fact the code relies on is in docs/: a citation of an outside document fails here."""
    cited = []
    for path in _code_files():
        if path == Path(__file__).resolve():
            continue
        rel = str(path.relative_to(ROOT))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                cited.append(f"{rel}:{n}: {line.strip()}")
    assert not cited, "cite docs/ instead:\n" + "\n".join(cited)


DOCS_LINK = re.compile(r"(?<![\w/.-])docs/[A-Za-z0-9_./-]+\.md(?:#[A-Za-z0-9_-]+)?")


def test_every_docs_link_in_the_code_resolves_to_a_page_and_heading():
    broken = []
    for path in _code_files():
        rel = str(path.relative_to(ROOT))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for link in DOCS_LINK.findall(line):
                link = link[link.index("docs/") :]
                if _broken(ROOT / "README.md", link) is not None:
                    broken.append(f"{rel}:{n}: {link}")
    assert not broken, "\n".join(broken)
