-- Social sign-in (API.md §6 "OAuth"), in schema `auth` (owner only, like the other auth tables).
-- Provider config lives with the app's users: one row per provider name (built-in or custom). The
-- client secret and Apple's private key are AES-GCM sealed under PLATFORM_MASTER_KEY (`v1.<iv>.<ct>`,
-- workers/shared/crypto.ts); `provider_metadata` keeps only the non-secret keys (teamId, keyId, …).
-- Endpoints are stored for custom providers only (built-ins take theirs from the catalogue in
-- workers/auth/services/oauth-catalogue.ts); `issuer` + `jwks_uri` make a custom provider OIDC.
CREATE TABLE auth.oauth_providers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider text NOT NULL UNIQUE CHECK (provider ~ '^[a-z][a-z0-9_-]{0,39}$'),
  client_id text NOT NULL,
  client_secret_sealed text NOT NULL,
  redirect_uris text[] NOT NULL,
  scopes text[] NOT NULL,
  authorization_url text,
  token_url text,
  userinfo_url text,
  issuer text,
  jwks_uri text,
  provider_metadata jsonb NOT NULL DEFAULT '{}',
  private_key_sealed text,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)
--> statement-breakpoint
-- Sign-ins in flight. The `state` parameter is a short HS256 JWT (app, provider, redirect target,
-- this row's id, 10-minute expiry) so tampering is refused before any lookup; this row makes it single
-- use (`used_at`) and keeps what must not travel through the browser: the PKCE verifier and the
-- OIDC nonce. Rows are removed once expired (see oauth-state.ts).
CREATE TABLE auth.oauth_states (
  id uuid PRIMARY KEY,
  provider text NOT NULL,
  redirect_uri text NOT NULL,
  redirect_to text,
  code_verifier text,
  nonce text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
)
--> statement-breakpoint
CREATE INDEX oauth_states_expires_idx ON auth.oauth_states (expires_at)
--> statement-breakpoint
-- Provider identities of users: a first sign-in creates the user and its identity; later sign-ins find
-- the user by (provider, provider_uid); linking to an existing account (verified email only) adds a row.
CREATE TABLE auth.identities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  provider text NOT NULL,
  provider_uid text NOT NULL,
  email text,
  profile jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at timestamptz,
  UNIQUE (provider, provider_uid)
)
--> statement-breakpoint
CREATE INDEX identities_user_idx ON auth.identities (user_id)
