-- Seller SKUs a store's catalog report delivered altered, per extract: Amazon writes the
-- All Listings report in Cp1252 and replaces other characters by "?"
-- (https://github.com/amzn/selling-partner-api-models/issues/4888). Such a SKU names no
-- real listing, so it is left out of the catalog; the mapping report's suggestions read
-- the rows of the latest accepted extract to tell the user why a TikTok SKU found no match.
CREATE TABLE IF NOT EXISTS report_altered_skus (
    run_id        VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    seller_sku    VARCHAR NOT NULL          -- as the report delivered it, with "?"
);
