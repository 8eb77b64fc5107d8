-- How many of the bundled per-app bootstrap migrations (migrations/app/index.ts) each app database
-- has. When the platform ships more, the control Worker upgrades the app (status 'migrating' while
-- it runs). Apps created before this column existed start at 0: their upgrade re-checks the app's own
-- ledger, so migrations they already have are skipped.
ALTER TABLE apps ADD COLUMN bootstrap_version integer NOT NULL DEFAULT 0
