"""One module per CLI subcommand; :mod:`skubridge.cli` registers them."""
