-- Functions (API.md §8.3 ctx.idempotency.claim): claimed keys per (scope, key). A key whose
-- expires_at has passed may be claimed again; the platform's tick purges those rows.
CREATE SCHEMA IF NOT EXISTS functions
--> statement-breakpoint
GRANT USAGE ON SCHEMA functions TO butterbase_service
--> statement-breakpoint
CREATE TABLE functions._idempotency_keys (
  scope text NOT NULL,
  key text NOT NULL,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
)
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON functions._idempotency_keys TO butterbase_service
