"""A signed TikTok Shop API client written by hand for the emulator tests (not the connector)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from sandbox.tiktok import DEFAULT_ACCESS_TOKEN, DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from sandbox.tiktok.signing import request_sign
from tests.clients import CIPHER


class SignedApi:
    """A hand-rolled signed client for the TikTok emulator (sign over path + sorted query +
    exact body bytes, https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf);
    every part of the request can be bent to test the emulator's refusals."""

    def __init__(self, base: str, app: Any) -> None:
        self.base, self.app = base, app
        self.http = httpx.Client(base_url=base, timeout=10, trust_env=False)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        cipher: str | None = CIPHER,
        token: str | None = DEFAULT_ACCESS_TOKEN,
        timestamp: int | None = None,
        secret: str = DEFAULT_APP_SECRET,
        sign: str | None = "compute",
        app_key: str = DEFAULT_APP_KEY,
    ) -> httpx.Response:
        query = {
            "app_key": app_key,
            "timestamp": str(timestamp or int(time.time())),
            **(params or {}),
        }
        if cipher is not None:
            query["shop_cipher"] = cipher
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        if sign == "compute":
            query["sign"] = request_sign(secret, path, query, raw)
        elif sign is not None:
            query["sign"] = sign
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["x-tts-access-token"] = token
        return self.http.request(method, path, params=query, content=raw or None, headers=headers)

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, f"/_sandbox/{path}", json=body)
