"""Redaction of secrets from every log line and exception text.

Connectors register the secret values they hold (access tokens, app secrets, refresh
tokens); the request signature and well-known credential parameters are masked by name.
``install_log_redaction`` puts one filter on the handlers of the loggers we and our HTTP
library write to, so nothing written through logging can carry a registered secret.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_PARAM_NAMES = (
    "sign",
    "access_token",
    "refresh_token",
    "app_secret",
    "client_secret",
    "x-tts-access-token",
    "x-amz-access-token",
    "x-shopify-access-token",
    "authorization",
)
_NAMES = "|".join(re.escape(n) for n in _PARAM_NAMES)
_PARAM_RE = re.compile(rf"(?i)(\"?(?:{_NAMES})\"?\s*[=:]\s*\"?)([^&\s\"',;}}]+)")

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(*values: str | None) -> None:
    """Remember secret values so that :func:`redact` masks them wherever they appear."""
    with _lock:
        for value in values:
            if value and len(value) >= 4:
                _secrets.add(value)


def redact(text: str) -> str:
    """Mask every registered secret and every credential-named parameter in ``text``."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _PARAM_RE.sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_FILTER = RedactingFilter()
_LOGGERS = ("", "skubridge", "connectors", "tasks", "flows", "httpx", "httpcore", "prefect")


def install_log_redaction() -> None:
    """Attach the redacting filter to the common loggers and every handler they have."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    # httpx logs every URL at INFO; URLs carry signatures. Keep them at WARNING.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
