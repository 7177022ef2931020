"""One flow at a time per shop; subflows of a holder do not wait on their parent."""

from __future__ import annotations

import pytest

from flows.shop_lock import hold_shop, holds
from tests.shop_slot import HOLDER_WAIT_SECONDS, held_elsewhere

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_second_holder_of_the_same_shop_waits_and_times_out():
    with held_elsewhere("lock-a"):
        with pytest.raises(TimeoutError), hold_shop("lock-a", timeout_seconds=1):
            pass
        # another shop is not blocked (were it, this would wait for the holder forever)
        with hold_shop("lock-b", timeout_seconds=HOLDER_WAIT_SECONDS):
            assert holds("lock-b")
    # free again once the first is done
    with hold_shop("lock-a", timeout_seconds=HOLDER_WAIT_SECONDS):
        assert holds("lock-a")


def test_nested_hold_of_the_same_shop_does_not_deadlock():
    with hold_shop("lock-c", timeout_seconds=10), hold_shop("lock-c", timeout_seconds=1):
        assert holds("lock-c")
    assert not holds("lock-c")


SHOPS = """
[[shops]]
id = "lock-flows"
store = "shopify"
[shops.tiktok]
app_key = "env:LOCK_K"
app_secret = "env:LOCK_S"
access_token = "env:LOCK_A"
[shops.shopify]
shop_domain = "lock.myshopify.com"
access_token = "env:LOCK_T"
"""


@pytest.mark.parametrize(
    "flow_call",
    [
        lambda: __import__("flows.sync_catalog").sync_catalog.sync_catalog("lock-flows"),
        lambda: __import__(
            "flows.push_prices_and_stock"
        ).push_prices_and_stock.push_prices_and_stock("lock-flows"),
        lambda: __import__("flows.relay_orders").relay_orders.relay_orders("lock-flows"),
        lambda: __import__("flows.map_product").map_product.map_product("lock-flows", "1", "2"),
    ],
    ids=["sync-catalog", "push-prices-and-stock", "relay-orders", "map-product"],
)
def test_standalone_flows_wait_for_the_shop(flow_call, tmp_path, data_dirs, monkeypatch):
    shops = tmp_path / "shops.toml"
    shops.write_text(SHOPS)
    monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(shops))
    # The flow waits 1 s for the slot; the holder takes it with its own, longer wait.
    monkeypatch.setattr("flows.shop_lock.HOLD_TIMEOUT_SECONDS", 1)
    with held_elsewhere("lock-flows"), pytest.raises(TimeoutError):
        flow_call()
    assert not (data_dirs[0] / "lock-flows.duckdb").exists()  # waited before touching the shop
