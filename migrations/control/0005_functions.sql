-- Serverless functions (API.md §8): one live row per (app, name) — a redeploy replaces the live row's
-- version, a delete is soft (`deleted_at`) so logs stay readable with include_deleted. Each deploy is
-- an immutable version (the runner keys loaded code by version id, so a redeploy is served from the
-- very next call). `env_vars` holds AES-GCM sealed values under PLATFORM_MASTER_KEY; webhook secrets
-- in `triggers` are sealed the same way.
CREATE TABLE functions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  current_version_id uuid,
  env_vars jsonb NOT NULL DEFAULT '{}',
  triggers jsonb NOT NULL DEFAULT '[]',
  timeout_ms integer NOT NULL DEFAULT 30000,
  memory_limit_mb integer NOT NULL DEFAULT 128,
  allow_service_key_impersonation boolean NOT NULL DEFAULT true,
  agent_tool jsonb,
  deployed_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
)
--> statement-breakpoint
CREATE UNIQUE INDEX functions_app_name_live_idx ON functions (app_id, name) WHERE deleted_at IS NULL
--> statement-breakpoint
CREATE TABLE function_versions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  function_id uuid NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
  source text NOT NULL,
  compiled text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)
--> statement-breakpoint
CREATE INDEX function_versions_function_idx ON function_versions (function_id, created_at DESC)
--> statement-breakpoint
CREATE TABLE function_invocations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  function_id uuid NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
  app_id text NOT NULL,
  version_id uuid,
  trigger_type text NOT NULL,
  method text NOT NULL,
  path text NOT NULL,
  status_code integer NOT NULL,
  duration_ms integer NOT NULL,
  error text,
  stack text,
  console_logs jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
)
--> statement-breakpoint
CREATE INDEX function_invocations_function_idx ON function_invocations (function_id, created_at DESC)
--> statement-breakpoint
-- Cron runs claimed per (function, scheduled minute): the first tick to insert runs it, any other
-- isolate ticking the same minute finds the row and skips (exactly once).
CREATE TABLE function_cron_runs (
  function_id uuid NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
  scheduled_minute timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (function_id, scheduled_minute)
)
--> statement-breakpoint
-- Webhook deliveries seen, by the configured idempotency header's value, kept 24 h.
CREATE TABLE function_webhook_deliveries (
  function_id uuid NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
  idempotency_key text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (function_id, idempotency_key)
)
