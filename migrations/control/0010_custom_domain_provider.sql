-- Custom domains through Cloudflare for SaaS (API.md §10.2): the provider's id of the custom hostname
-- (null for the local provider), and the verification records and errors it last reported.
ALTER TABLE custom_domains ADD COLUMN provider_id text
--> statement-breakpoint
ALTER TABLE custom_domains ADD COLUMN provider_verification jsonb
