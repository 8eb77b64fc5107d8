-- Storage (API.md §7): which apps have upload reservations that may expire, and when the earliest
-- one does, so the storage Worker's minute tick visits only those app databases (the records
-- themselves live in each app's own database, table storage.objects). `marks` counts the
-- reservations recorded, so the reaper only clears or moves a due time no reservation changed
-- while it worked.
CREATE TABLE storage_reap_due (
  app_id text PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
  due_at timestamptz NOT NULL,
  marks bigint NOT NULL DEFAULT 1
)
--> statement-breakpoint
CREATE INDEX storage_reap_due_at_idx ON storage_reap_due (due_at)
