/**
 * Tools `deploy_function`, `invoke_function` and `manage_function` (API.md §13 → §8: POST
 * /v1/{app}/functions, ANY /v1/{app}/fn/{name}, and the §8.1 management routes).
 */
import { z } from 'zod';
import { deployFunctionBody, functionEnvBody, functionLogsQuery, functionNameField } from '../../shared/schemas/functions.ts';
import { defineTool, jsonResult, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

export const deployFunction = defineTool({
  name: 'deploy_function',
  title: 'Deploy a serverless function',
  description:
    'Creates or replaces (by name) a TypeScript/JavaScript function: `export default async function handler(req, ctx)` (or `export async function handler`) returning a Response. ' +
    'ctx.db.query(sql, params) runs under the caller\'s row-level security (as the end user when one is signed in, else as service); ctx.db.asUser(id, db => …) / asAnon(db => …); ' +
    'ctx.env (app env < envVars < BUTTERBASE_*), ctx.user, ctx.caller, ctx.app, ctx.request, ctx.waitUntil, ctx.idempotency.claim, ctx.invoke; console output is logged. ' +
    'One module: only node:* built-ins may be imported; fetch() is global (private addresses are refused). Triggers (max one per type): http {method?, path?, auth: required|optional|none (default required)}, ' +
    'cron {schedule, timezone?}, webhook {provider: stripe|github|custom, secret, signature_header?, tolerance_seconds?, idempotency_key_header?}, websocket {event}, s3_upload {bucket, prefix?}. ' +
    'The next call after a deploy runs the new code. Syntax errors come back as FUNCTION_BUILD_FAILED with line and column.',
  input: deployFunctionBody.extend({ app_id: appId }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const { app_id: app, ...body } = args;
    return restResult(await platform.call({ method: 'POST', path: `/v1/${segment(app)}/functions`, body, tool: 'deploy_function' }));
  },
});

export const invokeFunction = defineTool({
  name: 'invoke_function',
  title: 'Invoke a function',
  description:
    'Calls a deployed function over HTTP (ANY /v1/{app_id}/fn/{function_name}) with your service key and returns {status, headers, body, duration_ms}; ' +
    'body is parsed JSON when the function answered JSON, else text. Send headers {"X-Butterbase-As-User": "<user id>"} to run it as that end user (RLS applies; needs a key scoped to this app — an account-wide key gets 403 AUTH_IMPERSONATION_FORBIDDEN).',
  input: z.object({
    app_id: appId,
    function_name: functionNameField.describe('The function\'s name.'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST').describe('HTTP method (default POST).'),
    body: z.unknown().optional().describe('JSON body to send (not for GET).'),
    headers: z.record(z.string(), z.string()).optional().describe('Extra request headers.'),
  }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(args, { platform }) {
    const started = Date.now();
    const response = await platform.call({
      method: args.method,
      path: `/v1/${segment(args.app_id)}/fn/${segment(args.function_name)}`,
      body: args.method === 'GET' ? undefined : args.body,
      headers: args.headers,
      tool: 'invoke_function',
    });
    return jsonResult({ status: response.status, headers: response.headers ?? {}, body: response.json ?? response.text, duration_ms: Date.now() - started });
  },
});

export const manageFunction = defineTool({
  name: 'manage_function',
  title: 'Manage functions',
  description:
    'Actions: list (every function with triggers, url, invocation figures); get (function_name: code, triggers, env keys — never values); delete (soft: logs stay readable with include_deleted); ' +
    'get_logs (function_name, limit 1–500, since ISO time, level error|all, include_deleted: each invocation with status, duration, error, stack and consoleLogs); ' +
    'update_env (function_name, env {KEY: value | null}: merged, null deletes, BUTTERBASE_* refused); update_settings (function_name, allow_service_key_impersonation).',
  input: z.object({
    action: z.enum(['list', 'get', 'delete', 'get_logs', 'update_env', 'update_settings']).describe('What to do.'),
    app_id: appId,
    function_name: functionNameField.optional().describe('The function\'s name (every action but list).'),
    limit: functionLogsQuery.shape.limit.unwrap().optional().describe('get_logs: how many (default 50).'),
    since: z.string().optional().describe('get_logs: only invocations at or after this ISO-8601 time.'),
    level: z.enum(['error', 'all']).optional().describe('get_logs: "error" for failed invocations only.'),
    include_deleted: z.boolean().optional().describe('get_logs: read the logs of a deleted function.'),
    env: functionEnvBody.shape.envVars.optional().describe('update_env: {KEY: value, OTHER: null}.'),
    allow_service_key_impersonation: z.boolean().optional().describe('update_settings: accept X-Butterbase-As-User from a service key scoped to this app.'),
  }).strict(),
  requires: {
    get: ['function_name'],
    delete: ['function_name'],
    get_logs: ['function_name'],
    update_env: ['function_name', 'env'],
    update_settings: ['function_name', 'allow_service_key_impersonation'],
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_function.${args.action}`;
    const base = `/v1/${segment(args.app_id)}/functions`;
    const one = () => `${base}/${segment(args.function_name!)}`;
    switch (args.action) {
      case 'list':
        return restResult(await platform.call({ method: 'GET', path: base, tool }));
      case 'get':
        return restResult(await platform.call({ method: 'GET', path: one(), tool }));
      case 'delete':
        return restResult(await platform.call({ method: 'DELETE', path: one(), tool }));
      case 'get_logs':
        return restResult(await platform.call({
          method: 'GET', path: `${one()}/logs`, tool,
          query: { limit: args.limit, since: args.since, level: args.level, include_deleted: args.include_deleted },
        }));
      case 'update_env':
        return restResult(await platform.call({ method: 'PATCH', path: `${one()}/env`, body: { envVars: args.env }, tool }));
      case 'update_settings':
        return restResult(await platform.call({
          method: 'PATCH', path: `${one()}/settings`, body: { allow_service_key_impersonation: args.allow_service_key_impersonation }, tool,
        }));
    }
  },
});
