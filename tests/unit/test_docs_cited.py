"""The package cites its own design pages, and every citation leads somewhere.

A comment that cites a document outside the repository ("SPEC §5") cannot be followed by a
maintainer; one that cites a page or section that moved misleads them.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tui_orchestrator"
DOCS = ROOT / "docs"
# `docs/contracts.md §2`, and a list of sections: `docs/engine.md §3, §4`.
CITATION = re.compile(r"docs/([\w-]+\.md)((?:,? ?§\d+)*)")
SECTION = re.compile(r"§(\d+)")


def _package_texts() -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for pattern in ("*.py", "*.tcss")
        for path in PACKAGE.rglob(pattern)
        if "sample_repo" not in path.parts
    }


def test_no_comment_cites_a_document_outside_the_repository() -> None:
    outside = re.compile(r"\bSPEC\b|reference design|shared/|reference/")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path, text in _package_texts().items()
        for number, line in enumerate(text.splitlines(), 1)
        if outside.search(line)
    ]
    assert found == []


def test_every_page_and_section_the_package_cites_exists() -> None:
    headings: dict[str, set[str]] = {
        page.name: set(re.findall(r"^## (\d+)\. ", page.read_text(encoding="utf-8"), re.M))
        for page in DOCS.glob("*.md")
    }
    cited = 0
    broken = []
    for path, text in _package_texts().items():
        for match in CITATION.finditer(text):
            page, sections = match.group(1), SECTION.findall(match.group(2))
            cited += 1
            where = f"{path.relative_to(ROOT)}: docs/{page}"
            if page not in headings:
                broken.append(f"{where} (no such page)")
            broken += [f"{where} §{s} (no such section)" for s in sections if s not in headings.get(page, ())]
    assert broken == []
    assert cited >= 20  # the contracts the code relies on are cited where it relies on them


def test_the_readme_and_the_docs_link_only_to_pages_that_exist() -> None:
    texts = [ROOT / "README.md", *DOCS.glob("*.md")]
    missing = [
        f"{path.name} -> {target}"
        for path in texts
        for target in re.findall(r"\]\(((?:docs/)?[\w-]+\.md)(?:#[\w-]*)?\)", path.read_text())
        if not ((ROOT if target.startswith("docs/") else path.parent) / target).is_file()
    ]
    assert missing == []
