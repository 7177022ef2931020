"""Pushing the plan to the TikTok emulator: values land, ledger, rejections, guards, reruns.

Sources cited by name below:

- Update Inventory: https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858
- Update Price: https://partner.tiktokshop.com/docv2/page/650307de5a12ff0294eac8b0
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.http import RetryPolicy
from sandbox.fixture import DEFAULT_LOCATION, DEFAULT_WAREHOUSE, Fixture, load_fixture
from sandbox.seed import seed_from_fixture
from skubridge.config import load_shops
from tasks.rules import desired_price
from tasks.steps.push import run_push
from tasks.warehouse import open_shop

SHOP = "acme"
OTHER_WH = "7000000000000000002"
WRITES = ("product.update_inventory", "product.update_price")
FAST_RETRY = RetryPolicy(attempts=10, timeout=60, wait_initial=0.01, wait_max=0.2, wait_jitter=0.05)


def make_fixture(
    products: int = 6,
    *,
    tiktok_price: str = "10.00",
    store_price: str = "12.00",
    tiktok_stock: int = 5,
    store_stock: int = 8,
    zero_stock: int = 0,
) -> Fixture:
    """``products`` two-SKU products; SKU 2 of each also has stock in a second warehouse.

    The first ``zero_stock`` products have no store stock at all.
    """
    tiktok, store = [], []
    for i in range(1, products + 1):
        skus, variants = [], []
        for j in (1, 2):
            inventory = {DEFAULT_WAREHOUSE: tiktok_stock}
            if j == 2:
                inventory[OTHER_WH] = 40 + i
            skus.append({"seller_sku": f"S{i}-{j}", "price": tiktok_price, "inventory": inventory})
            qty = 0 if i <= zero_stock else store_stock
            variants.append(
                {"sku": f"S{i}-{j}", "price": store_price, "inventory": {DEFAULT_LOCATION: qty}}
            )
        tiktok.append({"title": f"P{i}", "skus": skus})
        store.append({"title": f"P{i}", "variants": variants})
    return load_fixture(
        {
            "tiktok": {
                "warehouses": [{"id": DEFAULT_WAREHOUSE, "is_default": True}, {"id": OTHER_WH}],
                "products": tiktok,
            },
            "shopify": {"products": store},
        }
    )


@pytest.fixture(scope="module")
def stack_fixture():
    return make_fixture()


@pytest.fixture
def env(stack, data_dirs, point_at_stack):
    """A clean emulator state, sandbox credentials and a shops file pointing at the stack."""
    stack.admin("tiktok", "PUT", "faults", json={})
    stack.admin("tiktok", "PUT", "throttle", json={"enabled": True, "scale": 1.0})
    point_at_stack(stack, [(SHOP, "shopify")])
    return stack


def prepare(stack, fx: Fixture) -> None:
    """Emulator and warehouse both hold ``fx``; request counts start at zero."""
    stack.emulator("tiktok").load(fx)
    with open_shop(SHOP) as con:
        seed_from_fixture(con, fx)
    stack.admin("tiktok", "DELETE", "requests")


def writes_sent(stack) -> int:
    counts = stack.admin("tiktok", "GET", "requests")
    return sum(counts.get(op, 0) for op in WRITES)


def tiktok_skus(stack) -> dict[str, dict]:
    return {s["id"]: s for p in stack.emulator("tiktok").snapshot()["products"] for s in p["skus"]}


async def push(run_id: str, **kwargs):
    shop = load_shops().get(SHOP)
    return run_push(shop, run_id=run_id, client_kwargs={"retry": FAST_RETRY}, **kwargs)


def ledger(run_id: str) -> list[tuple]:
    with open_shop(SHOP) as con:
        return con.execute(
            "SELECT tiktok_sku_id, field, old, new, status, error FROM push_ledger"
            " WHERE run_id = ? ORDER BY tiktok_sku_id, field",
            [run_id],
        ).fetchall()


async def test_push_sets_desired_values_one_call_per_product_and_field(env) -> None:
    fx = make_fixture()
    prepare(env, fx)
    outcome = await push("run-1")
    assert outcome.ok and outcome.counts["updated"] == 24 and outcome.counts["rejected"] == 0
    counts = env.admin("tiktok", "GET", "requests")
    assert counts["product.update_inventory"] == 6 and counts["product.update_price"] == 6
    skus = tiktok_skus(env)
    assert len(skus) == 12
    for sku in skus.values():
        assert Decimal(sku["price"]) == Decimal("12.00")
        assert sku["inventory"][DEFAULT_WAREHOUSE] == 8
    # The second warehouse kept its own quantity (every warehouse listed, Update Inventory).
    assert {s["inventory"].get(OTHER_WH) for s in skus.values() if OTHER_WH in s["inventory"]} == {
        41,
        42,
        43,
        44,
        45,
        46,
    }
    rows = ledger("run-1")
    assert len(rows) == 24 and {r[4] for r in rows} == {"UPDATED"}
    assert {(r[1], r[2], r[3]) for r in rows} == {
        ("price", "10.00", "12.00"),
        ("inventory", "5", "8"),
    }
    with open_shop(SHOP) as con:
        report = con.execute(
            "SELECT field, old, new, status FROM push_report WHERE run_id = 'run-1'"
        ).fetchall()
    assert len(report) == 24 and {r[3] for r in report} == {"UPDATED"}


async def test_unchanged_shop_sends_zero_writes(env) -> None:
    fx = make_fixture(tiktok_price="12.00", tiktok_stock=8)
    prepare(env, fx)
    outcome = await push("run-same")
    assert writes_sent(env) == 0
    assert outcome.counts["updated"] == 0 and outcome.counts["unchanged"] == 24
    assert outcome.report_rows == 0 and ledger("run-same") == []


async def test_faults_and_throttling_still_converge(env) -> None:
    fx = make_fixture(products=20)
    prepare(env, fx)
    env.admin("tiktok", "PUT", "faults", json={"seed": 7, "error_rate": 0.05, "writes_only": True})
    # Server allows 10 QPS per API while the client paces for 50: 429s must be retried.
    env.admin("tiktok", "PUT", "throttle", json={"enabled": True, "scale": 0.2})
    outcome = await push("run-faults")
    assert outcome.ok, outcome.message
    faults = env.admin("tiktok", "GET", "faults")["injected"]
    assert faults.get("error", 0) > 0
    assert env.admin("tiktok", "GET", "throttle")["rejected"] > 0
    skus = tiktok_skus(env)
    assert all(Decimal(s["price"]) == Decimal("12.00") for s in skus.values())
    assert all(s["inventory"][DEFAULT_WAREHOUSE] == 8 for s in skus.values())
    assert {r[4] for r in ledger("run-faults")} == {"UPDATED"}


async def test_per_sku_rejection_recorded_while_rest_applies(env) -> None:
    fx = make_fixture(products=2)
    prepare(env, fx)
    first = fx.tiktok.products[0]
    bad_sku = first.skus[0].id
    # Our catalog believes the SKU sits in a warehouse TikTok doesn't know: TikTok rejects
    # that SKU inside a code-0 answer (Update Inventory) and applies its sibling.
    with open_shop(SHOP) as con:
        con.execute(
            "INSERT INTO catalog_stock VALUES ('seed', 'tiktok', ?, '7999999999999999999', 1)",
            [bad_sku],
        )
    # A price TikTok refuses for the whole second product (12052570, Update Price).
    env.emulator("tiktok").load(fx)
    with open_shop(SHOP) as con:
        con.execute(
            "UPDATE catalog_variants SET price = 9000"
            " WHERE channel = 'shopify' AND seller_sku = 'S2-1'"
        )
    outcome = await push("run-rej", force=True)  # 9000 is a huge move: force past the guard
    rows = {(r[0], r[1]): r for r in ledger("run-rej")}
    assert rows[(bad_sku, "inventory")][4] == "REJECTED"
    # the SKU error carries the inner reason of the 12052990 "Check failed" wrapper
    assert rows[(bad_sku, "inventory")][5].startswith("12052097 Check failed")
    assert "7999999999999999999" in rows[(bad_sku, "inventory")][5]
    sibling = first.skus[1].id
    assert rows[(sibling, "inventory")][4] == "UPDATED"
    second = fx.tiktok.products[1]
    for s in second.skus:
        assert rows[(s.id, "price")][4] == "REJECTED"
        assert "12052570" in rows[(s.id, "price")][5]
    skus = tiktok_skus(env)
    assert skus[sibling]["inventory"][DEFAULT_WAREHOUSE] == 8
    assert skus[bad_sku]["inventory"][DEFAULT_WAREHOUSE] == 5
    assert Decimal(skus[second.skus[0].id]["price"]) == Decimal("10.00")
    assert outcome.counts["rejected"] == 3 and outcome.ok


async def test_stock_collapse_is_blocked_and_force_overrides(env) -> None:
    # 60% of products lost all store stock; prices unchanged.
    fx = make_fixture(products=10, tiktok_price="12.00", zero_stock=6)
    prepare(env, fx)
    outcome = await push("run-blocked")
    assert writes_sent(env) == 0
    assert not outcome.ok and outcome.guard_failures == ("zero_stock_share",)
    assert "zero_stock_share: 0.600" in outcome.message
    with open_shop(SHOP) as con:
        statuses = con.execute(
            "SELECT DISTINCT status, field FROM push_report WHERE run_id = 'run-blocked'"
        ).fetchall()
    assert statuses == [("BLOCKED_BY_GUARD", "inventory")]
    assert ledger("run-blocked") == []

    forced = await push("run-forced", force=True)
    assert forced.ok and forced.counts["updated"] == 20
    skus = tiktok_skus(env)
    assert sorted(s["inventory"][DEFAULT_WAREHOUSE] for s in skus.values()) == [0] * 12 + [8] * 8


async def test_dry_run_writes_nothing(env) -> None:
    fx = make_fixture(products=3)
    prepare(env, fx)
    outcome = await push("run-dry", dry_run=True)
    assert writes_sent(env) == 0
    assert outcome.counts["would_update"] == 12 and outcome.counts["updated"] == 0
    assert ledger("run-dry") == []
    assert all(Decimal(s["price"]) == Decimal("10.00") for s in tiktok_skus(env).values())
    with open_shop(SHOP) as con:
        rows = con.execute(
            "SELECT status, error FROM push_report WHERE run_id = 'run-dry'"
        ).fetchall()
    assert len(rows) == 12 and set(rows) == {("UNCHANGED", "dry run: would update")}


async def test_crashed_run_pending_rows_are_settled(env) -> None:
    fx = make_fixture(products=1)
    prepare(env, fx)
    a, b = (s.id for s in fx.tiktok.products[0].skus)
    with open_shop(SHOP) as con:
        con.execute(
            "INSERT INTO push_ledger (run_id, tiktok_product_id, tiktok_sku_id, field, old, new,"
            " status, created_at, updated_at, warehouse_id) VALUES"
            " ('crashed', 'p', ?, 'price', '9.00', '10.00', 'PENDING', now(), now(), NULL),"
            " ('crashed', 'p', ?, 'inventory', '1', '99', 'PENDING', now(), now(), ?)",
            [a, b, DEFAULT_WAREHOUSE],
        )
    await push("run-next")
    rows = {(r[0], r[1]): (r[4], r[5]) for r in ledger("crashed")}
    # 10.00 is what the catalog shows for a: confirmed. 99 was never seen: FAILED, redone.
    assert rows[(a, "price")][0] == "UPDATED"
    assert rows[(b, "inventory")][0] == "FAILED" and "run-next" in rows[(b, "inventory")][1]
    assert {r[4] for r in ledger("run-next")} == {"UPDATED"}


async def test_price_rule_applied_in_tiktok_currency(env, monkeypatch, tmp_path) -> None:
    fx = make_fixture(products=1, tiktok_price="20.00", store_price="19.99")
    prepare(env, fx)
    path = tmp_path / "shops.toml"
    path.write_text(
        env.shop_toml(
            SHOP,
            "shopify",
            extra='\n[shops.price_rule]\nmarkup_percent = 10\nrounding = "end_99"\n',
        ),
        encoding="utf-8",
    )
    outcome = await push("run-rule")
    assert outcome.ok, outcome.message
    rule = load_shops().get(SHOP).price_rule
    expected = desired_price(Decimal("19.99"), rule)
    assert expected == Decimal("21.99")
    for sku in tiktok_skus(env).values():
        assert Decimal(sku["price"]) == expected and sku["currency"] == "USD"


class RecordingApi:
    """A TikTokApi stand-in: checks the ledger is PENDING when a call goes out; price calls
    fail like a call still failing after the connector's retries."""

    def __init__(self) -> None:
        self.seen_pending: list[set[str]] = []
        self.inventory_bodies: list[tuple[str, list]] = []

    async def warehouses(self):
        from connectors.base import Warehouse

        return [Warehouse(DEFAULT_WAREHOUSE, "Main", is_default=True, type="SALES_WAREHOUSE")]

    async def update_inventory(self, product_id, updates):
        from connectors.base import WriteResult

        with open_shop(SHOP, read_only=True) as con:
            rows = con.execute(
                "SELECT DISTINCT status FROM push_ledger WHERE run_id = 'run-fake'"
                " AND tiktok_product_id = ? AND field = 'inventory'",
                [product_id],
            ).fetchall()
        self.seen_pending.append({r[0] for r in rows})
        self.inventory_bodies.append((product_id, list(updates)))
        return WriteResult(product_id, tuple(u.sku_id for u in updates))

    async def update_price(self, product_id, updates):
        from connectors.errors import TransientError

        raise TransientError("HTTP 503 after 6 attempts", marketplace="tiktok", operation="p")

    async def aclose(self) -> None:
        return None


async def test_ledger_pending_before_calls_and_failed_calls(env) -> None:
    fx = make_fixture(products=2)
    prepare(env, fx)
    api = RecordingApi()
    outcome = run_push(load_shops().get(SHOP), run_id="run-fake", api=api)
    assert api.seen_pending == [{"PENDING"}, {"PENDING"}]
    bodies = dict(api.inventory_bodies)
    updates = bodies[fx.tiktok.products[0].id]
    # One call per product holding both SKUs; SKU 2 lists both warehouses (Update Inventory).
    assert len(bodies) == 2 and len(updates) == 2
    assert dict(updates[1].quantities) == {DEFAULT_WAREHOUSE: 8, OTHER_WH: 41}
    statuses = {(r[1], r[4]) for r in ledger("run-fake")}
    assert statuses == {("inventory", "UPDATED"), ("price", "FAILED")}
    assert not outcome.ok and outcome.counts["failed"] == 4
    assert "4 writes failed after retries" in outcome.message
    with open_shop(SHOP) as con:
        errors = con.execute(
            "SELECT DISTINCT status, error FROM push_report"
            " WHERE run_id = 'run-fake' AND field = 'price'"
        ).fetchall()
    assert len(errors) == 1 and errors[0][0] == "REJECTED"
    assert errors[0][1].startswith("not confirmed, retried next run") and "503" in errors[0][1]


async def test_mapped_count_drop_blocks_against_previous_run(env) -> None:
    fx = make_fixture(products=5, tiktok_price="12.00", tiktok_stock=8)
    prepare(env, fx)
    assert (await push("run-base")).ok  # baseline: 10 mapped SKUs, nothing to write
    with open_shop(SHOP) as con:
        con.execute("DELETE FROM mappings WHERE seller_sku LIKE 'S1-%' OR seller_sku LIKE 'S2-%'")
        con.execute("UPDATE catalog_variants SET price = 12.5 WHERE channel = 'shopify'")
    blocked = await push("run-drop")
    assert blocked.guard_failures == ("mapped_drop",) and not blocked.ok
    assert "fell by 0.400" in blocked.message
    assert writes_sent(env) == 0 and blocked.counts["blocked"] == 6
    # A blocked run does not become the new baseline: the next run is blocked too.
    assert (await push("run-drop-again")).guard_failures == ("mapped_drop",)
    assert (await push("run-drop-forced", force=True)).ok
    assert (await push("run-after-force")).guard_failures == ()
