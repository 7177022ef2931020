-- Promote, step 1: drop the channel's accepted variants. Parameter: channel.
DELETE FROM catalog_variants WHERE channel = $1
