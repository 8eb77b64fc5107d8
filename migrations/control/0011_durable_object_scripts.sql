-- User Durable Object classes on Workers for Platforms (API.md §10.1, issue 11): one dispatch script
-- per app (`do-{app_id}`) holds every class. Each upload carries Durable Object migrations whose
-- old_tag must equal the script's current tag, so the tag applied last and the classes the script
-- then exported (URL name → class name) are kept here; the next upload diffs against them.
CREATE TABLE durable_object_scripts (
  app_id text PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
  migration_tag integer NOT NULL,
  classes jsonb NOT NULL DEFAULT '{}',
  updated_at timestamp with time zone NOT NULL DEFAULT now()
)
