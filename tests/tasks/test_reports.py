"""Reports land as table rows and owner-only files, and a failed write leaves no half file."""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from tasks.reports import artifact_key, publish_report, run_report_dir

FRAME = pd.DataFrame(
    {"tiktok_order_id": ["1", "2"], "status": ["AWAITING_SHIPMENT"] * 2, "reason": ["RELAYED"] * 2}
)


def test_publish_writes_rows_and_owner_only_files(con, tmp_path):
    folder = run_report_dir("s", "run-1", root=tmp_path / "reports")
    files = publish_report(
        con, table="order_report", run_id="run-1", frame=FRAME, folder=folder, name="order_report"
    )
    again = publish_report(  # a retried task replaces its rows, never doubles them
        con, table="order_report", run_id="run-1", frame=FRAME, folder=folder, name="order_report"
    )
    assert files.rows == again.rows == 2
    assert con.execute("SELECT count(*) FROM order_report").fetchone()[0] == 2
    for path in (files.csv, files.parquet, folder, folder.parent):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    assert pd.read_parquet(files.parquet)["tiktok_order_id"].tolist() == ["1", "2"]
    assert sorted(p.name for p in folder.iterdir()) == ["order_report.csv", "order_report.parquet"]


def test_failed_file_write_leaves_no_partial_file(con, tmp_path, monkeypatch):
    folder = run_report_dir("s", "run-2", root=tmp_path / "reports")

    def half_then_fail(self, path, *args, **kwargs):
        path.write_bytes(b"PAR1 half a file")
        raise OSError("killed mid-write")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_fail)
    with pytest.raises(OSError, match="mid-write"):
        publish_report(
            con, table="order_report", run_id="run-2", frame=FRAME, folder=folder, name="r"
        )
    assert sorted(p.name for p in folder.iterdir()) == ["r.csv"]


def test_artifact_keys_are_valid_prefect_keys():
    assert artifact_key("Unmapped_Products", "Shop A/1") == "unmapped-products-shop-a-1"
