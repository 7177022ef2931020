-- Stock rules (docs/operations.md): whether a store variant's inventory is tracked and
-- whether it keeps selling when out of stock (Shopify inventoryItem.tracked and
-- ProductVariant.inventoryPolicy, https://shopify.dev/docs/api/admin-graphql/latest/objects/ProductVariant);
-- NULL on channels without the notion (TikTok, Amazon).
ALTER TABLE staged_variants ADD COLUMN IF NOT EXISTS tracked BOOLEAN;
ALTER TABLE staged_variants ADD COLUMN IF NOT EXISTS inventory_policy VARCHAR;
ALTER TABLE catalog_variants ADD COLUMN IF NOT EXISTS tracked BOOLEAN;
ALTER TABLE catalog_variants ADD COLUMN IF NOT EXISTS inventory_policy VARCHAR;

-- Which rule produced each push report value (added at the end: docs/reports.md).
ALTER TABLE push_report ADD COLUMN IF NOT EXISTS rule VARCHAR;
