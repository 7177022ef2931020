"""Security checks: no secret or buyer data in any output of a chaos run, owner-only files,
and webhook signature verification.

The slow tests read the shared reduced chaos run (conftest.py); the fast ones show that the
scanner and the permission check find what they look for, and exercise the connectors'
webhook verification with signatures made by the emulators' signers.
"""

from __future__ import annotations

import json
import os
import stat
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from bench.chaos import checks
from connectors import shopify as shopify_connector
from connectors import tiktok as tiktok_connector
from sandbox.shopify import DEFAULT_WEBHOOK_SECRET, sign_webhook
from sandbox.stack import sandbox_credentials
from sandbox.tiktok import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, webhook_sign

# ----- after the reduced chaos run ---------------------------------------------------------


@pytest.mark.slow
def test_no_secret_or_buyer_data_in_any_output(reduced_chaos):
    scan = reduced_chaos.scan
    assert scan.hits == []
    kinds = scan.needle_kinds
    for name in (
        "TIKTOK_APP_SECRET",
        "TIKTOK_ACCESS_TOKEN",
        "TIKTOK_REFRESH_TOKEN",
        "SHOPIFY_TOKEN",
        "AMAZON_CLIENT_SECRET",
        "AMAZON_REFRESH_TOKEN",
    ):
        assert kinds.get(f"secret SKUBRIDGE_SANDBOX_{name}") == 1
    assert kinds.get("Amazon LWA access token", 0) >= 1, "tokens the emulator issued"
    for kind in ("buyer name", "buyer phone", "buyer address", "buyer email"):
        assert kinds.get(kind, 0) > 10, kind
    labels = scan.labels
    # every kind of output was read: driver and child logs, child results, each DuckDB
    # table and the raw file, CSV and Parquet reports
    assert any(label.endswith("driver.log") for label in labels)
    assert any(label.endswith("driver-output.log") for label in labels)  # stdout+stderr
    assert sum(label.endswith(".log") for label in labels) >= 8  # driver + every child
    assert sum(label.endswith(".json") for label in labels) >= 6  # child step results
    for table in ("order_ledger", "order_report", "push_ledger", "runs", "catalog_variants"):
        assert sum(label.endswith(f".duckdb:{table}") for label in labels) == 2, table
    assert sum(label.endswith(".duckdb (raw bytes)") for label in labels) >= 2
    for suffix in ("order_report.csv", "order_report.parquet", "push_report.parquet"):
        assert any(label.endswith(suffix) for label in labels), suffix


@pytest.mark.slow
def test_duckdb_and_report_files_are_owner_only(reduced_chaos):
    assert reduced_chaos.permission_problems == []
    data, reports = reduced_chaos.workdir / "data", reduced_chaos.workdir / "reports"
    dbs = list(data.glob("*.duckdb"))
    files = [p for p in reports.rglob("*") if p.is_file()]
    folders = [reports, *(p for p in reports.rglob("*") if p.is_dir())]
    assert len(dbs) == 2 and len(files) > 10 and len(folders) > 4
    for path in [data, *dbs, *files, *folders]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


# ----- the scanner and the permission check can fail ---------------------------------------


def test_scanner_finds_planted_values_in_every_kind_of_output(tmp_path):
    secret, phone = "shpat_planted_secret_value", "(+1)555-321-7654"
    data, reports, logs = tmp_path / "data", tmp_path / "reports", tmp_path / "logs"
    for folder in (data, reports / "s1" / "r1", logs):
        folder.mkdir(parents=True)
    con = duckdb.connect(str(data / "s1.duckdb"))
    con.execute("CREATE TABLE t (note VARCHAR)")
    con.execute("INSERT INTO t VALUES (?)", [f"token {secret}"])
    con.close()
    pd.DataFrame({"x": [f"call {phone}"]}).to_csv(reports / "s1" / "r1" / "a.csv", index=False)
    pd.DataFrame({"x": ["Avery LINDQVIST"]}).to_parquet(reports / "s1" / "r1" / "a.parquet")
    (logs / "child.log").write_text(f"DEBUG header x-token={secret}\n")
    needles = [
        checks.Needle("secret", secret),
        checks.Needle("buyer phone", phone),
        checks.Needle("buyer name", "Avery Lindqvist"),
    ]
    scan = checks.scan_outputs(checks.output_texts(data, reports, [logs / "child.log"]), needles)
    hits = {(os.path.basename(label), kind) for label, kind in scan.hits}
    assert ("child.log", "secret x1") in hits
    assert ("s1.duckdb:t", "secret x1") in hits
    assert ("a.csv", "buyer phone x1") in hits
    assert ("a.parquet", "buyer name x1") in hits  # case-insensitive
    assert scan.needles == 3 and scan.outputs >= 5


def test_permission_check_flags_group_or_world_access(tmp_path):
    data, reports = tmp_path / "data", tmp_path / "reports"
    run = reports / "s1" / "r1"
    run.mkdir(parents=True)
    data.mkdir(mode=0o700)
    data.chmod(0o700)
    for path in (reports, reports / "s1", run):
        path.chmod(0o700)
    (data / "s1.duckdb").write_bytes(b"x")
    (data / "s1.duckdb").chmod(0o600)
    report = run / "order_report.csv"
    report.write_text("a\n")
    report.chmod(0o600)
    assert checks.permission_problems(data, reports) == []
    report.chmod(0o644)
    (reports / "s1").chmod(0o750)
    problems = checks.permission_problems(data, reports)
    assert len(problems) == 2
    assert any("order_report.csv is mode 644" in p for p in problems)


def test_needles_cover_configured_and_issued_secrets_not_public_ids():
    tiktok = SimpleNamespace(
        credentials=SimpleNamespace(
            app_secret="sandbox-app-secret-0000",
            access_tokens={"TTP_issued_0002": 1},
            refresh_tokens={"TTP_refresh_0002": 1},
        )
    )
    amazon = SimpleNamespace(tokens={"Atza|issued": 1.0})

    needles = checks.secret_needles(sandbox_credentials(), [tiktok], [amazon])
    texts = {n.text for n in needles}
    assert {"TTP_issued_0002", "TTP_refresh_0002", "Atza|issued"} <= texts
    assert DEFAULT_APP_SECRET in texts
    assert DEFAULT_APP_KEY not in texts  # public, sent in every query string
    buyer = checks.buyer_needles(
        [
            {
                "orders": [
                    {
                        "recipient": {
                            "first_name": "Quinn",
                            "last_name": "Okafor",
                            "phone": "(+1)555-123-4567",
                            "address_line1": "12 Elm St",
                        },
                        "buyer_email": "v1@scs3.tiktok.com",
                    }
                ]
            }
        ]
    )
    assert {n.text for n in buyer} == {
        "Quinn Okafor",
        "(+1)555-123-4567",
        "555-123-4567",
        "5551234567",
        "12 Elm St",
        "v1@scs3.tiktok.com",
    }


# ----- webhooks ----------------------------------------------------------------------------

BODY = json.dumps({"type": 1, "shop_id": "7495000000000000001", "data": {"order_id": "5"}})


def test_tiktok_webhook_verification():
    body = BODY.encode()
    good = webhook_sign(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, body)
    verify = tiktok_connector.verify_webhook
    assert verify(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, body, good)
    assert verify(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, body, good.upper())  # hex, any case
    assert not verify(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, body, "")  # unsigned
    assert not verify(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, body + b" ", good)  # body changed
    assert not verify(DEFAULT_APP_KEY, "another-secret", body, good)
    assert not verify(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, body, "0" * 64)
    other = webhook_sign(DEFAULT_APP_KEY, "another-secret", body)
    assert not verify(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, body, other)


def test_shopify_webhook_verification():
    body = BODY.encode()
    good = sign_webhook(body, DEFAULT_WEBHOOK_SECRET)
    verify = shopify_connector.verify_webhook
    assert verify(body, good, DEFAULT_WEBHOOK_SECRET)
    assert not verify(body, None, DEFAULT_WEBHOOK_SECRET)  # unsigned
    assert not verify(body, "", DEFAULT_WEBHOOK_SECRET)
    assert not verify(body + b"\n", good, DEFAULT_WEBHOOK_SECRET)
    assert not verify(body, sign_webhook(body, "shpss_other"), DEFAULT_WEBHOOK_SECRET)
    assert not verify(body, good.lower(), DEFAULT_WEBHOOK_SECRET)  # base64 is case-sensitive
