"""skubridge: keep a TikTok Shop in step with a Shopify store or an Amazon seller account."""

from __future__ import annotations

__version__ = "0.1.0"
