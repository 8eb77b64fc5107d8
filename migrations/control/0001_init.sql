-- Control-plane schema: accounts, service keys, apps and their config, signing keys, audit logs,
-- suggestions. Statements are separated by "--> statement-breakpoint" (one statement per query on
-- Neon's HTTP protocol); the whole file runs in one transaction.
CREATE TABLE accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text UNIQUE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  name text NOT NULL,
  key_prefix text NOT NULL,
  -- SHA-256 (hex) of the full key; the plaintext is shown once and never stored.
  key_hash text NOT NULL UNIQUE,
  key_scope text NOT NULL CHECK (key_scope IN ('account', 'app')),
  target_app_id text,
  scopes text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz
);
--> statement-breakpoint
CREATE INDEX api_keys_account_idx ON api_keys (account_id, created_at DESC);
--> statement-breakpoint
CREATE TABLE apps (
  id text PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  name text NOT NULL,
  subdomain text NOT NULL UNIQUE,
  db_name text NOT NULL UNIQUE,
  region text NOT NULL,
  provisioning_status text NOT NULL DEFAULT 'provisioning'
    CHECK (provisioning_status IN ('provisioning', 'ready', 'failed', 'migrating', 'deleting')),
  provisioning_error text,
  -- While a provisioner works on the app it holds this lease; an expired lease means it died.
  provisioning_lease_until timestamptz,
  provisioning_attempts integer NOT NULL DEFAULT 0,
  db_provisioned boolean NOT NULL DEFAULT false,
  anon_key text NOT NULL,
  allowed_origins text[] NOT NULL DEFAULT ARRAY['*'],
  storage_config jsonb NOT NULL DEFAULT '{"maxFileSizeMb":10,"allowedContentTypes":["*/*"],"publicReadEnabled":false}',
  jwt_config jsonb NOT NULL DEFAULT '{"accessTokenTtl":"1h","refreshTokenTtlDays":7}',
  auth_config jsonb NOT NULL DEFAULT '{"requireEmailVerification":false}',
  auth_hook_function text,
  access_mode text NOT NULL DEFAULT 'public' CHECK (access_mode IN ('public', 'authenticated')),
  paused boolean NOT NULL DEFAULT false,
  paused_at timestamptz,
  paused_reason text,
  rate_limit_per_minute integer,
  visibility text NOT NULL DEFAULT 'private',
  listed boolean NOT NULL DEFAULT false,
  -- App env vars for functions: {"KEY": "<AES-GCM sealed value>"}; values are never returned.
  env_vars jsonb NOT NULL DEFAULT '{}',
  env_updated_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, name)
);
--> statement-breakpoint
CREATE INDEX apps_account_idx ON apps (account_id, created_at DESC);
--> statement-breakpoint
CREATE TABLE app_signing_keys (
  kid text PRIMARY KEY,
  app_id text NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  alg text NOT NULL DEFAULT 'RS256',
  public_jwk jsonb NOT NULL,
  -- The private JWK, AES-GCM sealed under PLATFORM_MASTER_KEY.
  private_jwk_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Set when a newer key takes over signing; the key still verifies until tokens it signed expire.
  retired_at timestamptz
);
--> statement-breakpoint
CREATE INDEX app_signing_keys_app_idx ON app_signing_keys (app_id, created_at DESC);
--> statement-breakpoint
CREATE TABLE audit_logs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id text,
  category text NOT NULL CHECK (category IN ('auth', 'admin', 'function')),
  event_type text NOT NULL,
  action text NOT NULL,
  resource_type text,
  resource_id text,
  actor_type text NOT NULL,
  actor_id text,
  event_data jsonb NOT NULL DEFAULT '{}',
  ip_address text,
  user_agent text,
  success boolean NOT NULL DEFAULT true,
  error_message text,
  correlation_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX audit_logs_app_idx ON audit_logs (app_id, created_at DESC);
--> statement-breakpoint
CREATE TABLE suggestions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
  category text NOT NULL,
  description text NOT NULL,
  severity text,
  affected_tool text,
  proposed_solution text,
  source text,
  app_id text,
  agent_context jsonb,
  status text NOT NULL DEFAULT 'open',
  created_at timestamptz NOT NULL DEFAULT now()
);
