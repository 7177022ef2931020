"""One flow at a time per shop; subflows of a holder do not wait on their parent."""

from __future__ import annotations

import threading

import pytest

from flows.shop_lock import hold_shop, holds

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_second_holder_of_the_same_shop_waits_and_times_out():
    entered = threading.Event()
    release = threading.Event()

    def first() -> None:
        with hold_shop("lock-a"):
            entered.set()
            release.wait(30)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert entered.wait(30)
        with pytest.raises(TimeoutError), hold_shop("lock-a", timeout_seconds=1):
            pass
        with hold_shop("lock-b", timeout_seconds=10):  # another shop is not blocked
            assert holds("lock-b")
    finally:
        release.set()
        thread.join(30)
    with hold_shop("lock-a", timeout_seconds=10):  # free again once the first is done
        assert holds("lock-a")


def test_nested_hold_of_the_same_shop_does_not_deadlock():
    with hold_shop("lock-c", timeout_seconds=10):
        with hold_shop("lock-c", timeout_seconds=1):
            assert holds("lock-c")
    assert not holds("lock-c")
