-- End-user auth tables (API.md §6), in schema `auth`. Only the database owner reaches them (the auth
-- Worker through DbGateway role `owner`): the three app roles get no privilege on the schema.
REVOKE ALL ON SCHEMA auth FROM PUBLIC
--> statement-breakpoint
-- One row per end user. `email` is stored trimmed and lowercased, so the unique constraint is the
-- case-insensitive identity. `password_hash` is a PHC string (algorithm and parameters included) or
-- NULL for users who only sign in by magic link.
CREATE TABLE auth.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL UNIQUE CHECK (email = lower(btrim(email))),
  password_hash text,
  email_verified boolean NOT NULL DEFAULT false,
  display_name text,
  avatar_url text,
  provider text NOT NULL DEFAULT 'email',
  provider_uid text,
  metadata jsonb NOT NULL DEFAULT '{}',
  last_sign_in_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)
--> statement-breakpoint
-- Admin listing pages newest first by (created_at, id).
CREATE INDEX users_created_idx ON auth.users (created_at DESC, id DESC)
--> statement-breakpoint
-- Refresh tokens: only the SHA-256 of the opaque token is stored. Every sign-in starts a family;
-- each refresh marks its token `rotated_at` and inserts the successor in the same family. A rotated
-- token presented again is a replay: the whole family is revoked.
CREATE TABLE auth.refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  family_id uuid NOT NULL,
  parent_id uuid,
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz,
  revoked_at timestamptz,
  revoked_reason text
)
--> statement-breakpoint
CREATE INDEX refresh_tokens_user_idx ON auth.refresh_tokens (user_id)
--> statement-breakpoint
CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (family_id)
--> statement-breakpoint
-- One-time 6-digit codes (verify email 24 h, magic link 15 min, password reset 1 h), stored hashed.
-- A code is single use (`used_at`), dies after too many wrong guesses (`attempts`), and is superseded
-- (`revoked_at`) when a newer code of the same purpose is issued to the same user.
CREATE TABLE auth.one_time_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'magic_link', 'password_reset')),
  code_hash text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  revoked_at timestamptz
)
--> statement-breakpoint
CREATE INDEX one_time_codes_user_idx ON auth.one_time_codes (user_id, purpose, created_at DESC)
--> statement-breakpoint
CREATE INDEX one_time_codes_hash_idx ON auth.one_time_codes (purpose, code_hash)
--> statement-breakpoint
-- Local development only (MAIL_PROVIDER=dev): every message the app would have emailed, code
-- included, so a sign-up can be finished offline. Production providers never write here.
CREATE TABLE auth.dev_outbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  to_email text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  purpose text NOT NULL,
  code text,
  created_at timestamptz NOT NULL DEFAULT now()
)
--> statement-breakpoint
CREATE INDEX dev_outbox_to_idx ON auth.dev_outbox (to_email, created_at DESC)
