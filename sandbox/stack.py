"""All three emulators together, plus the shops file that points skubridge at them.

``SandboxStack`` serves the TikTok, Shopify and Amazon emulators over loopback HTTP (each
in a background thread), loads one fixture into all of them, and writes a ``shops.toml``
whose base URLs point at the emulators and whose credential references name environment
variables that :meth:`SandboxStack.env` fills with the sandbox credentials. The demo,
flow tests and benchmarks all start from here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sandbox import amazon as amazon_sandbox
from sandbox import shopify as shopify_sandbox
from sandbox import tiktok as tiktok_sandbox
from sandbox.fixture import Fixture, dump_fixture
from sandbox.server import ServerThread

ENV_PREFIX = "SKUBRIDGE_SANDBOX_"


def sandbox_credentials() -> dict[str, str]:
    """Environment variables holding the emulators' built-in credentials."""
    from sandbox.shopify.emulator import DEFAULT_ACCESS_TOKEN as SHOPIFY_TOKEN

    return {
        f"{ENV_PREFIX}TIKTOK_APP_KEY": tiktok_sandbox.DEFAULT_APP_KEY,
        f"{ENV_PREFIX}TIKTOK_APP_SECRET": tiktok_sandbox.DEFAULT_APP_SECRET,
        f"{ENV_PREFIX}TIKTOK_ACCESS_TOKEN": tiktok_sandbox.DEFAULT_ACCESS_TOKEN,
        f"{ENV_PREFIX}TIKTOK_REFRESH_TOKEN": tiktok_sandbox.DEFAULT_REFRESH_TOKEN,
        f"{ENV_PREFIX}SHOPIFY_TOKEN": SHOPIFY_TOKEN,
        f"{ENV_PREFIX}AMAZON_CLIENT_ID": amazon_sandbox.SANDBOX_CLIENT_ID,
        f"{ENV_PREFIX}AMAZON_CLIENT_SECRET": amazon_sandbox.SANDBOX_CLIENT_SECRET,
        f"{ENV_PREFIX}AMAZON_REFRESH_TOKEN": amazon_sandbox.SANDBOX_REFRESH_TOKEN,
    }


@dataclass
class SandboxStack:
    """The three emulators on loopback; use as a context manager or call start()/stop()."""

    fixture: Fixture | None = None
    throttle: bool = True
    rate_scale: float = 1.0
    ports: dict[str, int] = field(default_factory=dict)
    servers: dict[str, ServerThread] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)

    def start(self) -> SandboxStack:
        factories = {
            "tiktok": tiktok_sandbox.create_app,
            "shopify": shopify_sandbox.create_app,
            "amazon": amazon_sandbox.create_app,
        }
        for name, factory in factories.items():
            app = factory(self.fixture, throttle=self.throttle, rate_scale=self.rate_scale)
            self.apps[name] = app
            self.servers[name] = ServerThread(app, port=self.ports.get(name, 0)).start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> SandboxStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self.servers.items()}

    def emulator(self, name: str) -> Any:
        """The in-memory state object of one emulator (for assertions)."""
        return self.apps[name].state.emulator

    def admin(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        """Call an emulator's ``/_sandbox/<path>`` admin endpoint; returns the JSON answer."""
        with httpx.Client(base_url=self.urls[name], trust_env=False, timeout=60) as client:
            response = client.request(method, f"/_sandbox/{path.lstrip('/')}", **kwargs)
            response.raise_for_status()
            return response.json() if response.content else None

    def load(self, fixture: Fixture) -> None:
        """Load a fixture into all three emulators through their admin APIs."""
        body = dump_fixture(fixture)
        for name in self.servers:
            self.admin(
                name, "PUT", "load", content=body, headers={"content-type": "application/json"}
            )

    def env(self) -> dict[str, str]:
        """Environment variables the shops file written by :meth:`shops_toml` refers to."""
        return sandbox_credentials()

    def apply_env(self) -> None:
        os.environ.update(self.env())

    def shop_toml(
        self, shop_id: str, store: str, *, extra: str = "", incremental: bool = False
    ) -> str:
        """One ``[[shops]]`` table pointing at this stack (store 'shopify' or 'amazon').

        Catalogs are read in full every run unless ``incremental``: tests and chaos runs
        reload emulator fixtures between runs (stamping every item as just changed) and
        rely on each run seeing the whole catalog, deletions included."""
        fx = self.fixture or Fixture()
        p = ENV_PREFIX
        text = f"""
[[shops]]
id = "{shop_id}"
store = "{store}"

[shops.tiktok]
app_key = "env:{p}TIKTOK_APP_KEY"
app_secret = "env:{p}TIKTOK_APP_SECRET"
access_token = "env:{p}TIKTOK_ACCESS_TOKEN"
refresh_token = "env:{p}TIKTOK_REFRESH_TOKEN"
base_url = "{self.urls["tiktok"]}"
auth_base_url = "{self.urls["tiktok"]}"
"""
        if store == "shopify":
            text += f"""
[shops.shopify]
shop_domain = "{fx.shopify.shop_domain}"
access_token = "env:{p}SHOPIFY_TOKEN"
base_url = "{self.urls["shopify"]}"
"""
        else:
            text += f"""
[shops.amazon]
seller_id = "{fx.amazon.seller_id}"
marketplace_id = "{fx.amazon.marketplace_id}"
lwa_client_id = "env:{p}AMAZON_CLIENT_ID"
lwa_client_secret = "env:{p}AMAZON_CLIENT_SECRET"
refresh_token = "env:{p}AMAZON_REFRESH_TOKEN"
base_url = "{self.urls["amazon"]}"
lwa_url = "{self.urls["amazon"]}/auth/o2/token"
"""
        if not incremental:
            text += "\n[shops.catalog]\nincremental = false\n"
        return text + extra

    def write_shops_file(
        self, path: str | Path, shops: Iterable[tuple[str, str]], *, incremental: bool = False
    ) -> Path:
        """Write a shops file for ``shops`` = [(shop_id, store), ...] and return its path."""
        path = Path(path)
        text = "".join(self.shop_toml(s, k, incremental=incremental) for s, k in shops)
        path.write_text(text, encoding="utf-8")
        return path


@contextmanager
def sandbox_stack(
    fixture: Fixture | None = None, *, throttle: bool = True, rate_scale: float = 1.0
) -> Iterator[SandboxStack]:
    """Start the three emulators for the duration of the block."""
    stack = SandboxStack(fixture, throttle=throttle, rate_scale=rate_scale).start()
    try:
        yield stack
    finally:
        stack.stop()
