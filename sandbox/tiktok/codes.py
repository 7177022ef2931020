"""Error codes the emulator answers with
(https://partner.tiktokshop.com/docv2/page/678e3a45786253031531b942 and the endpoint pages);
UNCONFIRMED ones say so.

Product-API refusals use the codes of TikTok's Products API error list (Update Inventory /
Update Price pages, https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858 and
https://partner.tiktokshop.com/docv2/page/650307de5a12ff0294eac8b0): 12052910 input
parameter invalid, 12052084 currency not available for the shop, 12052055 warehouse
quantity outside the allowed limits, 12019024 stock count invalid.
"""

from __future__ import annotations

SUCCESS = 0
INVALID_SIGN = 106001
INVALID_CREDENTIALS = 36009004  # catch-all: missing sign, bad app_key/token/timestamp, cipher
TOKEN_EXPIRED = 105002
NO_SCOPE = 105005
TOKEN_SHOP_MISMATCH = 101000
CIPHER_REQUIRED = 106013
TOO_MANY_REQUESTS = 36009002
INTERNAL_ERROR = 36009003
REQUEST_TIMEOUT = 36009007
INVALID_PATH = 36009009
INVALID_METHOD = 36009010
INVALID_VERSION = 36009014
CONTENT_TYPE = 36009022
AUTH_RECORD_NOT_FOUND = 36004005
REFRESH_EXPIRED = 36004001
INVALID_GRANT = 36004005  # UNCONFIRMED: no separate code documented for a wrong grant_type
PRODUCT_NOT_FOUND = 12052032
SKU_NOT_FOUND = 12052556
SKU_NOT_IN_PRODUCT = 12052557
PRODUCT_STATUS_NOT_ALLOWED = 12052901
WAREHOUSES_INCOMPLETE = 12019028
WAREHOUSE_NOT_FOUND = 12052097
CHECK_FAILED = 12052990
PRICE_LIMIT = 12052570
TOO_MANY_SELLER_SKUS = 12019027
SEARCH_WINDOW_EXCEEDED = 12052180
PAGE_SIZE_INVALID = 12019109
ORDER_NOT_OWNED = 21008111
INVALID_PARAMETER = 12052910  # "Input parameter invalid" (Products API); for the Order and
# Event APIs no separate code is documented: UNCONFIRMED that they answer the same one.
CURRENCY_NOT_AVAILABLE = 12052084
QUANTITY_OUT_OF_RANGE = 12052055  # per warehouse, inside the 12052990 "Check failed" wrapper
STOCK_COUNT_INVALID = 12019024  # quantity that is not a whole number
