-- The login role of user SQL (issue 9 item 4, PostgREST's authenticator pattern): statements that come
-- from user code (functions' ctx.db) run on a connection of butterbase_authenticator, which holds no
-- privilege of its own (NOINHERIT) and may only switch to the three butterbase roles — so if a statement
-- ever escaped the user-SQL guard and reset its role, it would land on a role that can read nothing.
-- Created without LOGIN: where user SQL should use it, the operator gives it LOGIN and a password once
-- (roles are cluster-wide), and sets the data Worker's APP_DATABASE_AUTHENTICATOR_URL_TEMPLATE.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'butterbase_authenticator') THEN
    CREATE ROLE butterbase_authenticator NOLOGIN NOINHERIT;
  END IF;
END
$$
--> statement-breakpoint
GRANT butterbase_anon, butterbase_user, butterbase_service TO butterbase_authenticator
