"""Connector (and relay / manual map) code cites public pages or repository files only.

Users' checkouts do not have the design notes or the wire references the code was written
from, so a comment pointing there (by name or by a bare section sign) leads nowhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    *sorted((ROOT / "connectors").glob("*.py")),
    ROOT / "tasks" / "relay.py",
    ROOT / "tasks" / "manual_map.py",
]
OUTSIDE = re.compile(
    r"DESIGN\.md|tiktok-shop\.md|shopify\.md|amazon-sp-api\.md|prefect\.md|order-loop-back\.md"
    r"|shared/|§"
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_citation_of_files_outside_the_repository(path):
    hits = [
        f"{path.name}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert hits == []
