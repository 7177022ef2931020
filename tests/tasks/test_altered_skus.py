"""SKUs that Amazon's Cp1252 All Listings report alters ("?" for other characters,
https://github.com/amzn/selling-partner-api-models/issues/4888): left out of the catalog,
counted in the catalog summary, and named in the mapping report's suggestion of the TikTok
SKU they would have matched, never used in a later call."""

from __future__ import annotations

from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.commands.sync import catalog_summary_lines
from skubridge.config import load_shops
from tasks.steps.catalog import run_catalog, summary_markdown
from tasks.warehouse import open_shop

FIXTURE = {
    "tiktok": {
        "products": [
            {"title": "Omega tee", "skus": [{"seller_sku": "TEE-Ω-1", "price": "10"}]},
            {"title": "Café mug", "skus": [{"seller_sku": "CAFÉ-1", "price": "7"}]},
            {"title": "Cap", "skus": [{"seller_sku": "CAP-1", "price": "5"}]},
        ]
    },
    "amazon": {
        "listings": [
            {"sku": "TEE-Ω-1", "price": "10", "quantity": 3, "title": "Omega tee"},
            {"sku": "CAFÉ-1", "price": "7", "quantity": 2, "title": "Café mug"},  # é is Cp1252
        ]
    },
}


def _report(shop: str, run_id: str) -> dict[str, dict]:
    with open_shop(shop, read_only=True) as con:
        frame = con.execute(
            "SELECT seller_sku, status, reason, suggestion FROM mapping_report WHERE run_id = ?",
            [run_id],
        ).df()
    frame = frame.astype(object).where(frame.notna(), None)
    return {row["seller_sku"]: row for row in frame.to_dict("records")}


def test_altered_amazon_sku_is_flagged_in_the_mapping_report(
    data_dirs, point_at_stack, monkeypatch
):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        shop = load_shops(point_at_stack(stack, [("az", "amazon")])).get("az")
        summary = run_catalog(shop, run_id="run-1")
        assert summary.status == "COMPLETED"
        assert summary.promoted == {"tiktok": 3, "amazon": 1}  # "TEE-?-1" is left out
        assert summary.extract["amazon"]["altered"] == 1
        assert summary.extract["amazon"]["altered_skus"] == ["TEE-?-1"]
        report = _report("az", "run-1")
        tee = report["TEE-Ω-1"]
        assert (tee["status"], tee["reason"]) == ("unmapped", "SKU_NOT_FOUND")  # reason kept
        assert "arrives as 'TEE-?-1'" in tee["suggestion"]
        assert "Cp1252" in tee["suggestion"] and "'Ω'" in tee["suggestion"]
        assert "rename it on both sides" in tee["suggestion"]
        assert "map by hand" in tee["suggestion"]
        assert report["CAFÉ-1"]["status"] == "mapped"
        assert report["CAP-1"]["suggestion"] is None  # nothing altered matches it
        cli = "\n".join(catalog_summary_lines(summary.to_dict()))
        assert "amazon: 1 SKU(s) left out of the catalog, altered by the" in cli
        assert "'TEE-?-1'" in cli
        assert "1 SKU(s) left out of the catalog" in summary_markdown(summary)
        with open_shop("az", read_only=True) as con:
            stored = con.execute("SELECT run_id, channel, seller_sku FROM report_altered_skus")
            assert stored.fetchall() == [("run-1", "amazon", "TEE-?-1")]

        # Renamed on Amazon to Cp1252 characters: nothing is altered, no hint stays behind.
        renamed = {**FIXTURE["amazon"]["listings"][0], "sku": "TEE-O-1"}
        stack.load(load_fixture({**FIXTURE, "amazon": {"listings": [renamed]}}))
        run_catalog(shop, run_id="run-2")
        tee = _report("az", "run-2")["TEE-Ω-1"]
        assert tee["reason"] == "SKU_NOT_FOUND"
        assert tee["suggestion"] is None or "Cp1252" not in tee["suggestion"]
        with open_shop("az", read_only=True) as con:
            stored = con.execute("SELECT count(*) FROM report_altered_skus WHERE run_id = 'run-2'")
            assert stored.fetchone() == (0,)
