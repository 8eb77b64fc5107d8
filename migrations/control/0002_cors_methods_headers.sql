-- CORS beyond origins (PATCH /v1/{app_id}/config/cors accepts the SDK's and CLI's allowedMethods,
-- allowedHeaders and allowCredentials). Empty arrays mean the platform defaults; credentials are only
-- ever sent to an origin listed explicitly, never to "*".
ALTER TABLE apps ADD COLUMN cors_allowed_methods text[] NOT NULL DEFAULT '{}';
--> statement-breakpoint
ALTER TABLE apps ADD COLUMN cors_allowed_headers text[] NOT NULL DEFAULT '{}';
--> statement-breakpoint
ALTER TABLE apps ADD COLUMN cors_allow_credentials boolean NOT NULL DEFAULT true;
