/**
 * Tools `init_app` and `manage_app` (API.md §13 → §2 routes: /init, /apps, /v1/{app}/config, /secure, /env).
 */
import pRetry, { AbortError } from 'p-retry';
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import { initAppBody } from '../../shared/schemas/apps.ts';
import { accessModeBody, corsFields, envBody, pauseBody } from '../../shared/schemas/config.ts';
import type { ProvisioningStatus } from '../../shared/schemas/enums.ts';
import { defineTool, jsonResult, restError, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

/** How long init_app waits for the database (the reference polls 2 s × 30; locally apps are ready in seconds). */
const provisioningWaitMs = 60_000;

/** `My Blog!` → `my-blog` (the §2 name rule: 1–63 of `[a-z0-9_-]`, starting with a letter or digit). */
function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

interface AppStatus {
  app_id: string;
  provisioning_status: ProvisioningStatus;
  db_provisioned: boolean;
  provisioning_error: string | null;
}

class StillProvisioning extends Error {
  constructor(readonly status: AppStatus) {
    super('still provisioning');
  }
}

export const initApp = defineTool({
  name: 'init_app',
  title: 'Create an app',
  description:
    'Create a Butterbase app (its own Postgres database, REST API and end-user auth) and wait until it is ready. ' +
    'Idempotent per name: calling it again with the same name returns the existing app. Returns app_id, api_url and the public anon_key. ' +
    'Next: manage_schema (action "dry_run", then "apply") to create tables.',
  // The REST body's fields, except that any name is accepted here and slugified before POST /init.
  input: z.object({
    name: z.string().min(1).max(63).describe('App name, e.g. "blog"; lowercased and slugified to [a-z0-9_-].'),
    region: initAppBody.shape.region.describe('Region, e.g. "us-east-1" (default: the platform default).'),
    organization_id: initAppBody.shape.organization_id.describe('Organization to create the app in (optional).'),
  }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const name = slugify(args.name);
    if (name === '') {
      throw new ApiError('VALIDATION_INVALID_SCHEMA', `The app name "${args.name}" has no usable characters.`, {
        remediation: 'Use a name with letters or digits, e.g. "blog".',
        details: [{ path: 'name', message: 'must contain a letter or digit', code: 'invalid_string' }],
      });
    }
    const created = await platform.call({ method: 'POST', path: '/init', body: { name, region: args.region, organization_id: args.organization_id }, tool: 'init_app' });
    if (!created.ok) return restResult(created);
    const app = created.json as AppStatus & Record<string, unknown>;
    let status: AppStatus = app;
    if (status.provisioning_status === 'provisioning') {
      try {
        status = await pRetry(
          async () => {
            const polled = await platform.call({ method: 'GET', path: `/apps/${segment(app.app_id)}/status`, tool: 'init_app' });
            if (!polled.ok) throw new AbortError(restError(polled));
            const current = polled.json as AppStatus;
            if (current.provisioning_status === 'provisioning') throw new StillProvisioning(current);
            return current;
          },
          { retries: 60, minTimeout: 250, factor: 1.5, maxTimeout: 2_000, randomize: false, maxRetryTime: provisioningWaitMs },
        );
      } catch (error) {
        if (!(error instanceof StillProvisioning)) throw error;
        status = error.status;
      }
    }
    const ready = status.provisioning_status === 'ready';
    const result = {
      ...app,
      db_provisioned: status.db_provisioned,
      provisioning_status: status.provisioning_status,
      provisioning_error: status.provisioning_error,
      // The REST answer's next actions were written before the wait; these name the tools to call now.
      _meta: {
        next_actions: [
          { action: 'init_app', description: `Call init_app with name "${name}" again to keep waiting for the database`, recommended: !ready },
          { action: 'manage_schema', description: `manage_schema action "dry_run", then "apply", with app_id "${app.app_id}" to create tables`, recommended: ready },
        ],
      },
    };
    if (status.provisioning_status === 'failed') {
      throw new ApiError('APP_NOT_READY', `App ${app.app_id} failed to provision: ${status.provisioning_error ?? 'unknown error'}.`, {
        remediation: `Call init_app again with name "${name}" to retry provisioning.`,
        details: result,
      });
    }
    if (status.provisioning_status === 'provisioning') {
      return jsonResult({ ...result, message: `The database is still provisioning; call init_app again with name "${name}" to keep waiting.` });
    }
    return jsonResult(result);
  },
});

const manageAppActions = ['list', 'delete', 'pause', 'get_config', 'update_access_mode', 'secure', 'update_cors', 'get_env', 'update_env'] as const;

export const manageApp = defineTool({
  name: 'manage_app',
  title: 'Manage apps',
  description:
    'List, inspect and configure apps. Actions: list (your apps); get_config (app record: CORS, JWT, access mode, pause state, anon key); ' +
    'pause (paused true/false, reason); update_access_mode (public | authenticated: the data API then refuses anonymous callers); ' +
    'secure (authenticated mode + per-table user isolation: tables [{table_name, user_column, public_read_column?}]); ' +
    'update_cors (allowed_origins); get_env / update_env (function env vars: names only on read; env {KEY: value | null to delete}); ' +
    'delete (irreversible: drops the app and its database, and purges its stored files, site deployments, Durable Object storage and deployed function/SSR code).',
  input: z.object({
    action: z.enum(manageAppActions).describe('What to do.'),
    app_id: appId.optional(),
    paused: pauseBody.shape.paused.optional().describe('pause: true pauses the data plane (503 APP_PAUSED), false resumes.'),
    reason: pauseBody.shape.reason.describe('pause: why (shown to callers in details.paused_reason).'),
    access_mode: accessModeBody.shape.access_mode.optional().describe('update_access_mode: "authenticated" refuses anonymous data API calls.'),
    tables: z.array(z.object({
      table_name: z.string().min(1).max(63),
      user_column: z.string().min(1).max(63),
      public_read_column: z.string().min(1).max(63).optional(),
    }).strict()).optional().describe('secure: tables to isolate per user (default none: only switches to authenticated mode).'),
    allowed_origins: corsFields.shape.allowed_origins.describe('update_cors: browser origins allowed to call the app, e.g. ["http://localhost:5173"] or ["*"].'),
    env: envBody.shape.envVars.optional().describe('update_env: variables to set; null deletes one. Names starting with BUTTERBASE_ are reserved.'),
  }).strict(),
  requires: {
    delete: ['app_id'],
    pause: ['app_id', 'paused'],
    get_config: ['app_id'],
    update_access_mode: ['app_id', 'access_mode'],
    secure: ['app_id'],
    update_cors: ['app_id', 'allowed_origins'],
    get_env: ['app_id'],
    update_env: ['app_id', 'env'],
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_app.${args.action}`;
    const app = segment(args.app_id ?? '');
    switch (args.action) {
      case 'list':
        return restResult(await platform.call({ method: 'GET', path: '/apps', tool }));
      case 'delete':
        return restResult(await platform.call({ method: 'DELETE', path: `/apps/${app}`, tool }));
      case 'pause':
        return restResult(await platform.call({ method: 'PATCH', path: `/v1/${app}/config/pause`, body: { paused: args.paused, reason: args.reason }, tool }));
      case 'get_config':
        return restResult(await platform.call({ method: 'GET', path: `/v1/${app}/config`, tool }));
      case 'update_access_mode':
        return restResult(await platform.call({ method: 'PATCH', path: `/v1/${app}/config/access-mode`, body: { access_mode: args.access_mode }, tool }));
      case 'secure':
        return restResult(await platform.call({ method: 'POST', path: `/v1/${app}/secure`, body: { tables: args.tables ?? [] }, tool }));
      case 'update_cors':
        return restResult(await platform.call({ method: 'PATCH', path: `/v1/${app}/config/cors`, body: { allowed_origins: args.allowed_origins }, tool }));
      case 'get_env':
        return restResult(await platform.call({ method: 'GET', path: `/v1/${app}/env`, tool }));
      case 'update_env':
        return restResult(await platform.call({ method: 'PATCH', path: `/v1/${app}/env`, body: { envVars: args.env }, tool }));
    }
  },
});
