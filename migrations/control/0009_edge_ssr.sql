-- Edge SSR (API.md §10.3): SSR bundles are frontend deployments of kind 'ssr' (static ones 'static'),
-- so one `frontend_sites` pointer switches between them atomically and rollback works across kinds.
-- An SSR deployment records its worker bundle's size (bytes, gzip-compressed as Cloudflare counts
-- it) and module count once built.
ALTER TABLE frontend_deployments
  ADD COLUMN kind text NOT NULL DEFAULT 'static',
  ADD COLUMN worker_script_size_bytes bigint,
  ADD COLUMN worker_script_module_count integer,
  ADD CONSTRAINT frontend_deployments_kind_check CHECK (kind IN ('static', 'ssr'))
