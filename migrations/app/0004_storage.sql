-- Storage object records (API.md §7), in schema `storage` (created by 0001). The storage Worker
-- reads and writes them through DbGateway as role butterbase_service and applies the object ACL
-- itself; anon and user roles get nothing here.
--
-- A record is created when an upload URL is handed out (a reservation: `reserved_until` set,
-- `uploaded_at` NULL) and completed when the bytes land (size, ETag, `uploaded_at`). Reservations
-- count toward the app's quota until `reserved_until`; the minute tick removes those that never
-- received bytes. `upload_id` is the open S3 multipart upload of a resumable upload.
CREATE TABLE storage.objects (
  id uuid PRIMARY KEY,
  user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  key text NOT NULL UNIQUE,
  filename text NOT NULL,
  content_type text NOT NULL,
  size_bytes bigint NOT NULL CHECK (size_bytes > 0),
  public boolean NOT NULL DEFAULT false,
  etag text,
  upload_id text,
  part_size_bytes bigint,
  reserved_until timestamptz,
  uploaded_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (uploaded_at IS NOT NULL OR reserved_until IS NOT NULL)
)
--> statement-breakpoint
-- GET /storage/{app}/objects: newest first, all (service) or one user's.
CREATE INDEX objects_created_idx ON storage.objects (created_at DESC, id DESC)
--> statement-breakpoint
CREATE INDEX objects_user_created_idx ON storage.objects (user_id, created_at DESC, id DESC)
--> statement-breakpoint
-- The reaper's scan: reservations that never received bytes.
CREATE INDEX objects_pending_idx ON storage.objects (reserved_until) WHERE uploaded_at IS NULL
--> statement-breakpoint
REVOKE ALL ON SCHEMA storage FROM PUBLIC
--> statement-breakpoint
GRANT USAGE ON SCHEMA storage TO butterbase_service
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON storage.objects TO butterbase_service
