-- Promote, step 1: drop the channel's accepted stock rows. Parameter: channel.
DELETE FROM catalog_stock WHERE channel = $1
