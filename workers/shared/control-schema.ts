/**
 * The control-plane tables, defined once with drizzle-orm/pg-core (DESIGN.md "Data"). They mirror
 * migrations/control/*.sql exactly — the reviewed SQL files stay the migrations and the ledger stays;
 * this module is how Workers and scripts name, query and type those tables (constraint and index
 * names are Postgres's own, so errors name the same constraint here and there; a test compares this
 * module with the migrated database). Property names are the column names (snake_case), so a row
 * reads the same in SQL, in TypeScript and on the wire.
 *
 * JSON columns come back from the driver as `unknown`; each has a zod schema here and a row parser
 * (`appRecord`, `auditLogRecord`, …) that checks it when read back (STYLE.md "Rows are typed where they
 * are read").
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { JWK } from 'jose';
import { z } from 'zod';
import { accessModes, auditCategories, keyScopes, provisioningStatuses } from './schemas/enums.ts';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** `accounts`: who owns apps and keys. */
export const accounts = pgTable('accounts', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').unique('accounts_email_key'),
  name: text('name').notNull(),
  created_at: createdAt(),
});

/** `api_keys`: service keys (`bb_sk_…`), stored as SHA-256 only (API.md §1.2). */
export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  account_id: uuid('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  key_prefix: text('key_prefix').notNull(),
  key_hash: text('key_hash').notNull().unique('api_keys_key_hash_key'),
  key_scope: text('key_scope', { enum: keyScopes }).notNull(),
  target_app_id: text('target_app_id'),
  scopes: text('scopes').array().notNull(),
  created_at: createdAt(),
  last_used_at: timestamp('last_used_at', { withTimezone: true }),
  expires_at: timestamp('expires_at', { withTimezone: true }),
  revoked_at: timestamp('revoked_at', { withTimezone: true }),
}, (t) => [
  check('api_keys_key_scope_check', sql`${t.key_scope} IN ('account', 'app')`),
  index('api_keys_account_idx').on(t.account_id, t.created_at.desc()),
]);

/** `apps`: one row per app, with its config (API.md §2). */
export const apps = pgTable('apps', {
  id: text('id').primaryKey(),
  account_id: uuid('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  subdomain: text('subdomain').notNull().unique('apps_subdomain_key'),
  db_name: text('db_name').notNull().unique('apps_db_name_key'),
  region: text('region').notNull(),
  provisioning_status: text('provisioning_status', { enum: provisioningStatuses }).notNull().default('provisioning'),
  provisioning_error: text('provisioning_error'),
  provisioning_lease_until: timestamp('provisioning_lease_until', { withTimezone: true }),
  provisioning_attempts: integer('provisioning_attempts').notNull().default(0),
  db_provisioned: boolean('db_provisioned').notNull().default(false),
  anon_key: text('anon_key').notNull(),
  allowed_origins: text('allowed_origins').array().notNull().default(sql`ARRAY['*']`),
  storage_config: jsonb('storage_config').notNull().default(sql`'{"maxFileSizeMb":10,"allowedContentTypes":["*/*"],"publicReadEnabled":false}'`),
  jwt_config: jsonb('jwt_config').notNull().default(sql`'{"accessTokenTtl":"1h","refreshTokenTtlDays":7}'`),
  auth_config: jsonb('auth_config').notNull().default(sql`'{"requireEmailVerification":false}'`),
  auth_hook_function: text('auth_hook_function'),
  access_mode: text('access_mode', { enum: accessModes }).notNull().default('public'),
  paused: boolean('paused').notNull().default(false),
  paused_at: timestamp('paused_at', { withTimezone: true }),
  paused_reason: text('paused_reason'),
  rate_limit_per_minute: integer('rate_limit_per_minute'),
  visibility: text('visibility').notNull().default('private'),
  listed: boolean('listed').notNull().default(false),
  env_vars: jsonb('env_vars').notNull().default(sql`'{}'`),
  env_updated_at: timestamp('env_updated_at', { withTimezone: true }),
  created_at: createdAt(),
  updated_at: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  // 0002_cors_methods_headers.sql
  cors_allowed_methods: text('cors_allowed_methods').array().notNull().default(sql`'{}'`),
  cors_allowed_headers: text('cors_allowed_headers').array().notNull().default(sql`'{}'`),
  cors_allow_credentials: boolean('cors_allow_credentials').notNull().default(true),
  // 0003_app_bootstrap_version.sql
  bootstrap_version: integer('bootstrap_version').notNull().default(0),
}, (t) => [
  unique('apps_account_id_name_key').on(t.account_id, t.name),
  check('apps_provisioning_status_check', sql`${t.provisioning_status} IN ('provisioning', 'ready', 'failed', 'migrating', 'deleting')`),
  check('apps_access_mode_check', sql`${t.access_mode} IN ('public', 'authenticated')`),
  index('apps_account_idx').on(t.account_id, t.created_at.desc()),
]);

/** `app_signing_keys`: per-app RS256 keys; the private JWK AES-GCM sealed (API.md §6 "Tokens"). */
export const appSigningKeys = pgTable('app_signing_keys', {
  kid: text('kid').primaryKey(),
  app_id: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
  alg: text('alg').notNull().default('RS256'),
  public_jwk: jsonb('public_jwk').notNull(),
  private_jwk_sealed: text('private_jwk_sealed').notNull(),
  created_at: createdAt(),
  retired_at: timestamp('retired_at', { withTimezone: true }),
}, (t) => [index('app_signing_keys_app_idx').on(t.app_id, t.created_at.desc())]);

/** `audit_logs` (API.md §2 GET /v1/{app_id}/audit-logs). */
export const auditLogs = pgTable('audit_logs', {
  id: uuid('id').primaryKey().defaultRandom(),
  app_id: text('app_id'),
  category: text('category', { enum: auditCategories }).notNull(),
  event_type: text('event_type').notNull(),
  action: text('action').notNull(),
  resource_type: text('resource_type'),
  resource_id: text('resource_id'),
  actor_type: text('actor_type').notNull(),
  actor_id: text('actor_id'),
  event_data: jsonb('event_data').notNull().default(sql`'{}'`),
  ip_address: text('ip_address'),
  user_agent: text('user_agent'),
  success: boolean('success').notNull().default(true),
  error_message: text('error_message'),
  correlation_id: text('correlation_id'),
  created_at: createdAt(),
}, (t) => [
  check('audit_logs_category_check', sql`${t.category} IN ('auth', 'admin', 'function')`),
  index('audit_logs_app_idx').on(t.app_id, t.created_at.desc()),
]);

/** `suggestions` (API.md §2 POST /suggestions). */
export const suggestions = pgTable('suggestions', {
  id: uuid('id').primaryKey().defaultRandom(),
  account_id: uuid('account_id').references(() => accounts.id, { onDelete: 'set null' }),
  category: text('category').notNull(),
  description: text('description').notNull(),
  severity: text('severity'),
  affected_tool: text('affected_tool'),
  proposed_solution: text('proposed_solution'),
  source: text('source'),
  app_id: text('app_id'),
  agent_context: jsonb('agent_context'),
  status: text('status').notNull().default('open'),
  created_at: createdAt(),
});

/**
 * `storage_reap_due` (migrations/control/0004_storage.sql): apps whose upload reservations may run
 * out, the earliest time one does, and how many reservations were recorded (so the reaper never
 * clears a due time a reservation changed while it worked).
 */
export const storageReapDue = pgTable('storage_reap_due', {
  app_id: text('app_id').primaryKey().references(() => apps.id, { onDelete: 'cascade' }),
  due_at: timestamp('due_at', { withTimezone: true }).notNull(),
  marks: bigint('marks', { mode: 'number' }).notNull().default(1),
}, (t) => [index('storage_reap_due_at_idx').on(t.due_at)]);

/**
 * `functions` (migrations/control/0005_functions.sql, API.md §8.1): one live row per (app, name);
 * `env_vars` values and webhook secrets in `triggers` are AES-GCM sealed; deletes are soft.
 */
export const functions = pgTable('functions', {
  id: uuid('id').primaryKey().defaultRandom(),
  app_id: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  description: text('description'),
  current_version_id: uuid('current_version_id'),
  env_vars: jsonb('env_vars').notNull().default(sql`'{}'`),
  triggers: jsonb('triggers').notNull().default(sql`'[]'`),
  timeout_ms: integer('timeout_ms').notNull().default(30000),
  memory_limit_mb: integer('memory_limit_mb').notNull().default(128),
  allow_service_key_impersonation: boolean('allow_service_key_impersonation').notNull().default(true),
  agent_tool: jsonb('agent_tool'),
  deployed_at: timestamp('deployed_at', { withTimezone: true }).notNull().defaultNow(),
  created_at: createdAt(),
  deleted_at: timestamp('deleted_at', { withTimezone: true }),
}, (t) => [uniqueIndex('functions_app_name_live_idx').on(t.app_id, t.name).where(sql`deleted_at IS NULL`)]);

/** `function_versions`: each deploy's source and stripped JavaScript, immutable (the runner's cache key). */
export const functionVersions = pgTable('function_versions', {
  id: uuid('id').primaryKey().defaultRandom(),
  function_id: uuid('function_id').notNull().references(() => functions.id, { onDelete: 'cascade' }),
  source: text('source').notNull(),
  compiled: text('compiled').notNull(),
  created_at: createdAt(),
}, (t) => [index('function_versions_function_idx').on(t.function_id, t.created_at.desc())]);

/** `function_invocations`: one row per run (API.md §8.1 logs). */
export const functionInvocations = pgTable('function_invocations', {
  id: uuid('id').primaryKey().defaultRandom(),
  function_id: uuid('function_id').notNull().references(() => functions.id, { onDelete: 'cascade' }),
  app_id: text('app_id').notNull(),
  version_id: uuid('version_id'),
  trigger_type: text('trigger_type').notNull(),
  method: text('method').notNull(),
  path: text('path').notNull(),
  status_code: integer('status_code').notNull(),
  duration_ms: integer('duration_ms').notNull(),
  error: text('error'),
  stack: text('stack'),
  console_logs: jsonb('console_logs').notNull().default(sql`'[]'`),
  created_at: createdAt(),
}, (t) => [index('function_invocations_function_idx').on(t.function_id, t.created_at.desc())]);

/** `function_cron_runs`: the exactly-once claim of a cron run per (function, scheduled minute). */
export const functionCronRuns = pgTable('function_cron_runs', {
  function_id: uuid('function_id').notNull().references(() => functions.id, { onDelete: 'cascade' }),
  scheduled_minute: timestamp('scheduled_minute', { withTimezone: true }).notNull(),
  created_at: createdAt(),
}, (t) => [primaryKey({ columns: [t.function_id, t.scheduled_minute], name: 'function_cron_runs_pkey' })]);

/** `function_webhook_deliveries`: idempotency keys of webhook deliveries, kept 24 h. */
export const functionWebhookDeliveries = pgTable('function_webhook_deliveries', {
  function_id: uuid('function_id').notNull().references(() => functions.id, { onDelete: 'cascade' }),
  idempotency_key: text('idempotency_key').notNull(),
  expires_at: timestamp('expires_at', { withTimezone: true }).notNull(),
}, (t) => [primaryKey({ columns: [t.function_id, t.idempotency_key], name: 'function_webhook_deliveries_pkey' })]);

// ── Hosting (migrations/control/0008_hosting.sql, API.md §10) ──

/** Frontend deployment statuses (API.md §10.2), in lifecycle order. */
export const deploymentStatuses = ['WAITING', 'UPLOADING', 'BUILDING', 'READY', 'ERROR', 'CANCELED'] as const;
/** Kinds of frontend deployment (migrations/control/0009_edge_ssr.sql): a static site or an Edge SSR bundle (API.md §10.3). */
export const deploymentKinds = ['static', 'ssr'] as const;
/** User Durable Object class statuses (API.md §10.1). */
export const durableObjectStatuses = ['PENDING', 'BUILDING', 'READY', 'ERROR'] as const;
/** Who may call a user Durable Object at `/_do/{name}/{instance}` (API.md §10.1). */
export const durableObjectAccessModes = ['public', 'authenticated', 'service_key'] as const;

/** `frontend_deployments`: one static site or Edge SSR upload (`kind`) and its lifecycle; files under `sites/{app_id}/{id}/`. */
export const frontendDeployments = pgTable('frontend_deployments', {
  id: uuid('id').primaryKey().defaultRandom(),
  app_id: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
  framework: text('framework').notNull(),
  status: text('status', { enum: deploymentStatuses }).notNull().default('WAITING'),
  error: text('error'),
  file_count: integer('file_count'),
  total_size_bytes: bigint('total_size_bytes', { mode: 'number' }),
  upload_size_bytes: bigint('upload_size_bytes', { mode: 'number' }),
  upload_expires_at: timestamp('upload_expires_at', { withTimezone: true }).notNull(),
  build_config: jsonb('build_config').notNull().default(sql`'{}'`),
  created_at: createdAt(),
  started_at: timestamp('started_at', { withTimezone: true }),
  completed_at: timestamp('completed_at', { withTimezone: true }),
  updated_at: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  kind: text('kind', { enum: deploymentKinds }).notNull().default('static'),
  worker_script_size_bytes: bigint('worker_script_size_bytes', { mode: 'number' }),
  worker_script_module_count: integer('worker_script_module_count'),
}, (t) => [
  check('frontend_deployments_status_check', sql`${t.status} IN ('WAITING', 'UPLOADING', 'BUILDING', 'READY', 'ERROR', 'CANCELED')`),
  check('frontend_deployments_kind_check', sql`${t.kind} IN ('static', 'ssr')`),
  index('frontend_deployments_app_idx').on(t.app_id, t.created_at.desc()),
]);

/** `frontend_sites`: the deployment an app host serves (switched in one UPDATE: deploy and rollback). */
export const frontendSites = pgTable('frontend_sites', {
  app_id: text('app_id').primaryKey().references(() => apps.id, { onDelete: 'cascade' }),
  active_deployment_id: uuid('active_deployment_id').references(() => frontendDeployments.id, { onDelete: 'set null' }),
  updated_at: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** `frontend_env`: build-time env vars of the frontend (values AES-GCM sealed, never returned). */
export const frontendEnv = pgTable('frontend_env', {
  id: uuid('id').primaryKey().defaultRandom(),
  app_id: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
  key: text('key').notNull(),
  value: text('value').notNull(),
  created_at: createdAt(),
  updated_at: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [unique('frontend_env_app_id_key_key').on(t.app_id, t.key)]);

/** `custom_domains` (API.md §10.2 custom domains): a hostname routed to an app's site once active. */
export const customDomains = pgTable('custom_domains', {
  id: uuid('id').primaryKey().defaultRandom(),
  app_id: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
  hostname: text('hostname').notNull().unique('custom_domains_hostname_key'),
  status: text('status').notNull().default('pending'),
  ssl_status: text('ssl_status').notNull().default('pending_validation'),
  validation_method: text('validation_method', { enum: ['http', 'txt'] }).notNull().default('http'),
  verification_token: text('verification_token').notNull(),
  is_primary: boolean('is_primary').notNull().default(false),
  created_at: createdAt(),
  updated_at: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  /** The Cloudflare for SaaS custom hostname id (null with the local provider; migration 0010). */
  provider_id: text('provider_id'),
  /** What the provider last said the owner must do (services/custom-hostnames.ts ProviderVerification). */
  provider_verification: jsonb('provider_verification'),
}, (t) => [
  check('custom_domains_validation_method_check', sql`${t.validation_method} IN ('http', 'txt')`),
  index('custom_domains_app_idx').on(t.app_id, t.created_at),
]);

/** `durable_object_classes` (API.md §10.1): a user DO class, its source and the stripped module. */
export const durableObjectClasses = pgTable('durable_object_classes', {
  id: uuid('id').primaryKey().defaultRandom(),
  app_id: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  class_name: text('class_name').notNull(),
  code: text('code').notNull(),
  compiled: text('compiled'),
  /** The version, class and module that serve: the last deploy whose probe constructed (a failed deploy leaves them). */
  live_version: integer('live_version'),
  live_class_name: text('live_class_name'),
  live_compiled: text('live_compiled'),
  access_mode: text('access_mode', { enum: durableObjectAccessModes }).notNull().default('authenticated'),
  status: text('status', { enum: durableObjectStatuses }).notNull().default('PENDING'),
  error_message: text('error_message'),
  version: integer('version').notNull().default(1),
  do_requests: bigint('do_requests', { mode: 'number' }).notNull().default(0),
  do_cpu_ms: bigint('do_cpu_ms', { mode: 'number' }).notNull().default(0),
  last_deployed_at: timestamp('last_deployed_at', { withTimezone: true }),
  created_at: createdAt(),
  updated_at: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  unique('durable_object_classes_app_id_name_key').on(t.app_id, t.name),
  check('durable_object_classes_status_check', sql`${t.status} IN ('PENDING', 'BUILDING', 'READY', 'ERROR')`),
  check('durable_object_classes_access_mode_check', sql`${t.access_mode} IN ('public', 'authenticated', 'service_key')`),
]);

/** `durable_object_env`: env vars of an app's DO classes (values AES-GCM sealed, never returned). */
export const durableObjectEnv = pgTable('durable_object_env', {
  id: uuid('id').primaryKey().defaultRandom(),
  app_id: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
  key: text('key').notNull(),
  value: text('value').notNull(),
  created_at: createdAt(),
  updated_at: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [unique('durable_object_env_app_id_key_key').on(t.app_id, t.key)]);

/**
 * `durable_object_scripts` (migrations/control/0011_durable_object_scripts.sql): on Workers for
 * Platforms, what the app's Durable Object script (`do-{app_id}`) was last uploaded with — its
 * migration tag (`v{n}`) and its classes, URL name → class name ({@link doScriptClasses}).
 */
export const durableObjectScripts = pgTable('durable_object_scripts', {
  app_id: text('app_id').primaryKey().references(() => apps.id, { onDelete: 'cascade' }),
  migration_tag: integer('migration_tag').notNull(),
  classes: jsonb('classes').notNull().default(sql`'{}'`),
  updated_at: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Every control-plane table, for `drizzle(client, { schema })`. */
export const controlSchema = {
  accounts, apiKeys, apps, appSigningKeys, auditLogs, suggestions, storageReapDue,
  functions, functionVersions, functionInvocations, functionCronRuns, functionWebhookDeliveries,
  frontendDeployments, frontendSites, frontendEnv, customDomains, durableObjectClasses, durableObjectEnv, durableObjectScripts,
};

// ── JSON columns, checked when read back ──

/** `apps.storage_config` (API.md §2 PATCH config/storage); keys missing from old rows get their defaults. */
export const storageConfig = z.object({
  maxFileSizeMb: z.number().int().positive().default(10),
  allowedContentTypes: z.array(z.string()).default(['*/*']),
  publicReadEnabled: z.boolean().default(false),
  storageLimitBytes: z.number().int().positive().optional(),
});
export type StorageConfig = z.infer<typeof storageConfig>;

/** `durable_object_scripts.classes`: URL name → class name of each class the uploaded script exports. */
export const doScriptClasses = z.record(z.string(), z.string());
export type DoScriptClasses = z.infer<typeof doScriptClasses>;

/** `apps.jwt_config` (API.md §2 PATCH config/jwt): `accessTokenTtl` like `"15m"`, days for refresh tokens. */
export const jwtConfig = z.object({
  accessTokenTtl: z.string().default('1h'),
  refreshTokenTtlDays: z.number().int().positive().default(7),
});
export type JwtConfig = z.infer<typeof jwtConfig>;

/** `apps.auth_config` (PATCH /v1/{app}/auth/config). */
export const authConfig = z.object({ requireEmailVerification: z.boolean().default(false) });
export type AuthConfig = z.infer<typeof authConfig>;

/** `apps.env_vars`: `{ NAME: <AES-GCM sealed value> }`; values are never returned. */
export const envVars = z.record(z.string(), z.string());

/** `audit_logs.event_data`. */
export const eventData = z.record(z.string(), z.unknown());

/** `app_signing_keys.public_jwk`: an RSA public key as published in the JWKS (RFC 7517). */
export const publicJwk = z.looseObject({ kty: z.literal('RSA'), n: z.string(), e: z.string(), kid: z.string() })
  .transform((jwk): JWK => jwk);

/** An `apps` row as the driver returns it. */
export type AppRowRaw = typeof apps.$inferSelect;

/** An `apps` row with its JSON columns checked. */
export type AppRow = Omit<AppRowRaw, 'storage_config' | 'jwt_config' | 'auth_config' | 'env_vars'> & {
  storage_config: StorageConfig;
  jwt_config: JwtConfig;
  auth_config: AuthConfig;
  env_vars: Record<string, string>;
};

/**
 * Checks the JSON columns of an `apps` row read back.
 * @throws ZodError (→ INTERNAL_ERROR) when a stored value has the wrong shape.
 */
export function appRecord(row: AppRowRaw): AppRow {
  return {
    ...row,
    storage_config: storageConfig.parse(row.storage_config),
    jwt_config: jwtConfig.parse(row.jwt_config),
    auth_config: authConfig.parse(row.auth_config),
    env_vars: envVars.parse(row.env_vars),
  };
}

/** An `audit_logs` row with `event_data` checked. */
export type AuditLogRow = Omit<typeof auditLogs.$inferSelect, 'event_data'> & { event_data: Record<string, unknown> };

/** Checks `event_data` of an `audit_logs` row read back. @throws ZodError (→ INTERNAL_ERROR) */
export function auditLogRecord(row: typeof auditLogs.$inferSelect): AuditLogRow {
  return { ...row, event_data: eventData.parse(row.event_data) };
}
