"""TikTok Shop signatures as the server checks them: requests
(https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf) and webhooks
(https://partner.tiktokshop.com/docv2/page/650512b42f024f02be19755f).

Written from the reference for the emulator; the connector has its own implementation so
that a mistake in one is caught by the other.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

_UNSIGNED_PARAMS = frozenset({"sign", "access_token"})


def request_sign(secret: str, path: str, query: Mapping[str, str], body: bytes = b"") -> str:
    """Expected ``sign`` of a request: HMAC-SHA256 over secret+path+sorted params+body+secret."""
    names = sorted(name for name in query if name not in _UNSIGNED_PARAMS)
    message = path.encode() + "".join(name + query[name] for name in names).encode() + body
    wrapped = secret.encode() + message + secret.encode()
    return hmac.new(secret.encode(), wrapped, hashlib.sha256).hexdigest()


def accepted_signs(secret: str, path: str, query: Mapping[str, str], body: bytes) -> set[str]:
    """Every signature the emulator accepts for a request.

    A literal ``{}`` body may be signed either with or without the body (the official SDKs
    leave an empty object out; the Go/Java samples on
    https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf append it).
    """
    signs = {request_sign(secret, path, query, body)}
    if body.strip() in (b"{}", b""):
        signs.add(request_sign(secret, path, query, b""))
        signs.add(request_sign(secret, path, query, b"{}"))
    return signs


def webhook_sign(app_key: str, app_secret: str, body: bytes) -> str:
    """The ``Authorization`` header of a webhook: hex HMAC-SHA256(app_secret, app_key + body)."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()
