"""``bench/`` is not an installed package (``make bench`` runs it from the checkout): put the
repository root on ``sys.path`` so these tests import it however pytest is started."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
