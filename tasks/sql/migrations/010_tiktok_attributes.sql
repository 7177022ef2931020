-- Sales attributes and barcodes of multi-SKU TikTok products, as Get Product last gave
-- them: Search Products has neither, so they are read once per product and kept here,
-- keyed by the product's update_time (an edit moves update_time; an entry read at the
-- same update_time is still true). `skus` is {sku_id: {"sales_attributes": [...],
-- "identifier_code": {...}}}; no buyer data, no secrets.
CREATE TABLE IF NOT EXISTS tiktok_product_attributes (
    product_id    VARCHAR PRIMARY KEY,
    update_time   BIGINT NOT NULL,          -- the product's update_time when read (epoch s)
    skus          JSON NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR
);
