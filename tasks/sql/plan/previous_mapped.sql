-- Mapped-SKU count of the latest real (not dry) push run whose count was accepted: the
-- baseline of the mapped-drop guard. Parameter: $run_id (excluded: a retried run).
SELECT mapped_skus
FROM push_runs
WHERE NOT dry_run AND mapped_accepted AND run_id <> $run_id
ORDER BY created_at DESC
LIMIT 1
