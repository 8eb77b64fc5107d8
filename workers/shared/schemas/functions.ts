/**
 * Bodies of the functions routes (API.md §8.1), shared by the functions Worker's REST routes and the
 * MCP tools `deploy_function` / `manage_function` (which add `app_id` and map field names onto these).
 */
import { z } from 'zod';

/** A function name: 1–100 of letters, digits, `-`, `_` (API.md §8.1), starting with a letter or digit. */
export const functionNameField = z.string().min(1).max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'must be 1–100 letters, digits, "-" or "_", starting with a letter or digit');

/** Env var names: like shell variables; `BUTTERBASE_*` is the platform's (refused on PATCH env). */
export const envKeyField = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a variable name like MY_KEY');

/** The `http` trigger's auth mode: missing is stored as `required` (API.md §8.1). */
export const httpAuthModes = ['required', 'optional', 'none'] as const;
export type HttpAuthMode = (typeof httpAuthModes)[number];

export const httpTriggerConfig = z.object({
  method: z.string().max(10).optional(),
  path: z.string().max(200).optional(),
  auth: z.enum(httpAuthModes).default('required'),
}).strict();

export const cronTriggerConfig = z.object({
  schedule: z.string().min(9).max(100),
  timezone: z.string().min(1).max(64).default('UTC'),
}).strict();

export const websocketTriggerConfig = z.object({ event: z.string().min(1).max(100) }).strict();

export const webhookProviders = ['stripe', 'github', 'custom'] as const;
export const webhookTriggerConfig = z.object({
  provider: z.enum(webhookProviders),
  secret: z.string().min(1).max(500),
  signature_header: z.string().min(1).max(100).optional(),
  tolerance_seconds: z.number().int().positive().max(86_400).optional(),
  idempotency_key_header: z.string().min(1).max(100).optional(),
  /** [doc] fields some clients still send; accepted and stored. */
  secret_required: z.boolean().optional(),
  allowed_sources: z.array(z.string()).optional(),
}).strict();

export const s3UploadTriggerConfig = z.object({
  bucket: z.string().min(1).max(200),
  prefix: z.string().max(500).optional(),
  contentTypes: z.array(z.string().max(255)).max(50).optional(),
}).strict();

/** One trigger as sent (`config` checked per type by {@link triggerConfigs}). */
export const triggerInput = z.object({
  type: z.enum(['http', 'cron', 'websocket', 'webhook', 's3_upload']),
  config: z.record(z.string(), z.unknown()).default({}),
  enabled: z.boolean().default(true),
}).strict();
export type TriggerInput = z.infer<typeof triggerInput>;
export type TriggerType = TriggerInput['type'];

/** The config schema of each trigger type. */
export const triggerConfigs = {
  http: httpTriggerConfig,
  cron: cronTriggerConfig,
  websocket: websocketTriggerConfig,
  webhook: webhookTriggerConfig,
  s3_upload: s3UploadTriggerConfig,
} as const satisfies Record<TriggerType, z.ZodType>;

/** Body of POST /v1/{app_id}/functions (API.md §8.1). */
export const deployFunctionBody = z.object({
  name: functionNameField,
  code: z.string().min(1).max(1_000_000),
  description: z.string().max(1000).optional(),
  envVars: z.record(envKeyField, z.string().max(10_000)).optional(),
  timeoutMs: z.number().int().min(100).max(300_000).default(30_000),
  memoryLimitMb: z.number().int().min(64).max(1024).default(128),
  triggers: z.array(triggerInput).min(1).max(5).optional(),
  trigger: z.object({ type: triggerInput.shape.type, config: z.record(z.string(), z.unknown()).default({}) }).strict().optional(),
  allow_service_key_impersonation: z.boolean().default(true),
  agent_tool: z.boolean().optional(),
  agent_tool_description: z.string().max(500).optional(),
  agent_tool_mode: z.string().max(50).optional(),
  agent_tool_exposed_to: z.array(z.string()).max(50).optional(),
}).strict();
export type DeployFunctionBody = z.infer<typeof deployFunctionBody>;

/** Body of PATCH /v1/{app_id}/functions/{name}/env: merge; null deletes. */
export const functionEnvBody = z.object({
  envVars: z.record(envKeyField, z.string().max(10_000).nullable())
    .refine((value) => Object.keys(value).length > 0, 'must name at least one variable'),
}).strict();

/** Body of PATCH /v1/{app_id}/functions/{name}/settings. */
export const functionSettingsBody = z.object({ allow_service_key_impersonation: z.boolean() }).strict();

/** Query of GET /v1/{app_id}/functions/{name}/logs. */
export const functionLogsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  since: z.iso.datetime({ offset: true }).optional(),
  level: z.enum(['error', 'all']).default('all'),
  include_deleted: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
}).strict();

/** The prefix of platform env vars (API.md §8.3); PATCH env refuses it. */
export const platformEnvPrefix = 'BUTTERBASE_';
