"""Step runners: one Prefect-free runner per step (catalog, push, orders) and the cycle."""
