"""What the Amazon emulator tests share: an LWA sign-in, a test clock, the MCF shop."""

from __future__ import annotations

import time
from typing import Any

import httpx

from sandbox.amazon import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN


def token(client: httpx.Client) -> str:
    """An LWA access token from the emulator's ``/auth/o2/token`` (refresh-token grant)."""
    response = client.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": SANDBOX_REFRESH_TOKEN,
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def authed(client: httpx.Client) -> httpx.Client:
    """``client`` signed in: every request carries ``x-amz-access-token``."""
    client.headers["x-amz-access-token"] = token(client)
    return client


class Clock:
    """The emulator's clock, moved by the test (starts now: issued tokens stay valid)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def mcf_shop() -> dict[str, Any]:
    """Fixture data of the MCF tests: two FBA listings with stock and one MFN listing."""
    return {
        "amazon": {
            "listings": [
                {"sku": "FBA-A", "quantity": 10, "fulfillment": "FBA"},
                {"sku": "FBA-B", "quantity": 10, "fulfillment": "FBA"},
                {"sku": "MFN-A", "quantity": 5, "fulfillment": "MFN"},
            ]
        }
    }
