-- Hosting (API.md §10): static frontend deployments and the one active site per app, frontend
-- env vars, custom domains, and user Durable Object classes with their env vars. A deployment's
-- files live in the hosting bucket under sites/{app_id}/{deployment_id}/; the row is the truth
-- about its status. `frontend_sites.active_deployment_id` is switched in one UPDATE once a new
-- deployment is READY, so the old site serves until then and a rollback is one UPDATE too.
-- A DO class serves its `live_*` code (the last deploy that constructed); a failed deploy leaves it.
CREATE TABLE frontend_deployments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  framework text NOT NULL,
  status text NOT NULL DEFAULT 'WAITING',
  error text,
  file_count integer,
  total_size_bytes bigint,
  upload_size_bytes bigint,
  upload_expires_at timestamptz NOT NULL,
  build_config jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT frontend_deployments_status_check CHECK (status IN ('WAITING', 'UPLOADING', 'BUILDING', 'READY', 'ERROR', 'CANCELED'))
)
--> statement-breakpoint
CREATE INDEX frontend_deployments_app_idx ON frontend_deployments (app_id, created_at DESC)
--> statement-breakpoint
CREATE TABLE frontend_sites (
  app_id text PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
  active_deployment_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT frontend_sites_deployment_fkey FOREIGN KEY (active_deployment_id) REFERENCES frontend_deployments (id) ON DELETE SET NULL
)
--> statement-breakpoint
CREATE TABLE frontend_env (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT frontend_env_app_id_key_key UNIQUE (app_id, key)
)
--> statement-breakpoint
CREATE TABLE custom_domains (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  hostname text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  ssl_status text NOT NULL DEFAULT 'pending_validation',
  validation_method text NOT NULL DEFAULT 'http',
  verification_token text NOT NULL,
  is_primary boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT custom_domains_hostname_key UNIQUE (hostname),
  CONSTRAINT custom_domains_validation_method_check CHECK (validation_method IN ('http', 'txt'))
)
--> statement-breakpoint
CREATE INDEX custom_domains_app_idx ON custom_domains (app_id, created_at)
--> statement-breakpoint
CREATE TABLE durable_object_classes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  name text NOT NULL,
  class_name text NOT NULL,
  code text NOT NULL,
  compiled text,
  live_version integer,
  live_class_name text,
  live_compiled text,
  access_mode text NOT NULL DEFAULT 'authenticated',
  status text NOT NULL DEFAULT 'PENDING',
  error_message text,
  version integer NOT NULL DEFAULT 1,
  do_requests bigint NOT NULL DEFAULT 0,
  do_cpu_ms bigint NOT NULL DEFAULT 0,
  last_deployed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT durable_object_classes_app_id_name_key UNIQUE (app_id, name),
  CONSTRAINT durable_object_classes_status_check CHECK (status IN ('PENDING', 'BUILDING', 'READY', 'ERROR')),
  CONSTRAINT durable_object_classes_access_mode_check CHECK (access_mode IN ('public', 'authenticated', 'service_key'))
)
--> statement-breakpoint
CREATE TABLE durable_object_env (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT durable_object_env_app_id_key_key UNIQUE (app_id, key)
)
