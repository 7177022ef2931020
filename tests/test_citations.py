"""Product and sandbox files cite public pages or files inside the repository only.

Users' checkouts hold neither the design notes nor the wire references the project was
written from, so a comment that points at them points nowhere. Each cited fact names its
public source (the vendor's page, SDK or model) or a file in this repository instead.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("skubridge", "flows", "tasks", "connectors", "expectations", "sandbox", "docs")
TOP_FILES = ("README.md", "prefect.yaml", "pyproject.toml", "Makefile", "shops.example.toml")
SUFFIXES = {".py", ".sql", ".md", ".yaml", ".yml", ".toml", ".graphql", ".txt", ".cfg"}
NOT_IN_REPO = re.compile(
    r"\b(?:DESIGN|tiktok-shop|shopify|amazon-sp-api|order-loop-back|prefect)\.md\b"
    r"|\bshared/(?:reference|DESIGN)|/work/shared\b"
)


def _files() -> list[Path]:
    found = [ROOT / name for name in TOP_FILES if (ROOT / name).is_file()]
    for package in PACKAGES:
        found += [
            path
            for path in sorted((ROOT / package).rglob("*"))
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts
        ]
    return found


def citations_outside_the_repo(paths: list[Path], root: Path = ROOT) -> list[str]:
    """``path:line: text`` for every line that cites a file users do not have."""
    hits = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if NOT_IN_REPO.search(line):
                hits.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return hits


def test_the_scan_covers_the_product_and_sandbox():
    scanned = {path.relative_to(ROOT).parts[0] for path in _files()}
    assert {"tasks", "connectors", "flows", "sandbox", "expectations", "skubridge"} <= scanned


def test_the_pattern_catches_each_reference_name(tmp_path):
    lines = [
        "# see DESIGN.md step 4",
        "# tiktok-shop.md §6.1",
        '"""shopify.md §1.6"""',
        "-- amazon-sp-api.md §1.5",
        "# reference/prefect.md §4",
        "# order-loop-back.md",
        "# /work/shared/reference/x",
        "# ../shared/DESIGN",
        "# https://shopify.dev/docs/api/usage/limits",  # a public page: fine
        "# docs/reports.md",  # a file in the repository: fine
    ]
    path = tmp_path / "sample.py"
    path.write_text("\n".join(lines), encoding="utf-8")
    hits = [hit.split(": ", 1)[1] for hit in citations_outside_the_repo([path], root=tmp_path)]
    assert hits == lines[:8]


def test_no_product_or_sandbox_file_cites_files_outside_the_repository():
    hits = citations_outside_the_repo(_files())
    assert not hits, "cite a public URL or a file in the repository instead:\n" + "\n".join(hits)
