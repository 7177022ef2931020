"""Holding a shop's Prefect slot from another thread, for the tests of what waits on it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flows.shop_lock import hold_shop

# The other thread's own wait for the slot: never the bound under test (tests below shrink
# HOLD_TIMEOUT_SECONDS for the waiter), so a slow machine cannot make the holder give up.
HOLDER_WAIT_SECONDS = 3600


@contextmanager
def held_elsewhere(shop: str) -> Iterator[None]:
    """Hold ``shop``'s slot in another thread for the block.

    The block starts only once the other thread holds the slot (an event, not a sleep) and
    the slot is released and the thread finished when the block ends. An error of the
    holder (it could not take the slot) is raised here instead of a hang.
    """
    entered, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def holder() -> None:
        try:
            with hold_shop(shop, timeout_seconds=HOLDER_WAIT_SECONDS):
                entered.set()
                release.wait()
        except BaseException as exc:
            failed.append(exc)
            entered.set()

    thread = threading.Thread(target=holder, name=f"holder-{shop}", daemon=True)
    thread.start()
    try:
        entered.wait()
        if failed:
            raise failed[0]
        yield
    finally:
        release.set()
        thread.join()
