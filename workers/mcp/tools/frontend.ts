/**
 * Tools `create_frontend_deployment` and `manage_frontend` (API.md §13 → §10.2, base
 * /v1/{app}/frontend; custom domains → /v1/{app}/custom-domains). Each action is the REST call an
 * SDK or curl makes, so answers and errors are the REST ones.
 */
import { z } from 'zod';
import { createFrontendDeploymentBody, frontendEnvBody } from '../../shared/schemas/hosting.ts';
import { defineTool, errorResult, jsonResult, missingField, restResult } from '../tool.ts';
import { startAndWait } from './deployments.ts';
import { appId, segment } from './fields.ts';

/** How often start_deployment polls and for how long (API.md §13: 5 s, ≤ 5 min; builds here take seconds). */
const pollIntervalMs = 1_000;
const pollTimeoutMs = 5 * 60_000;

export const createFrontendDeployment = defineTool({
  name: 'create_frontend_deployment',
  title: 'Create a frontend deployment',
  description:
    'Step 1 of putting a built static frontend live at https://{subdomain}.{apps domain} (locally http://{subdomain}.localhost:8787). ' +
    'Returns { deployment_id, uploadUrl, expiresIn: 900, maxSizeBytes: 104857600 }. Then zip the build output from inside it ' +
    '(cd dist && zip -r ../site.zip .) and upload it: curl -X PUT "<uploadUrl>" -H "Content-Type: application/zip" --data-binary @../site.zip. ' +
    'Then call manage_frontend action "start_deployment" with deployment_id; it waits until READY and returns the live url. ' +
    'framework "react-vite" or "nextjs-static" adds the SPA fallback (deep links serve index.html) unless the zip has its own _redirects; ' +
    '"static" / "other" serve files as they are (404.html for misses). _redirects and _headers (Cloudflare Pages format) are honoured.',
  input: z.object({
    app_id: appId,
    framework: createFrontendDeploymentBody.shape.framework.unwrap().optional().describe('react-vite | nextjs-static (SPA fallback) | static | other. Default static.'),
  }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    const response = await platform.call({
      method: 'POST', path: `/v1/${segment(args.app_id)}/frontend/deployments`, tool: 'create_frontend_deployment',
      body: args.framework ? { framework: args.framework } : {},
    });
    if (!response.ok) return restResult(response);
    const { id, ...rest } = response.json as { id: string; uploadUrl: string; expiresIn: number; maxSizeBytes: number };
    return jsonResult({ deployment_id: id, ...rest });
  },
});

const domainActions = ['add', 'list', 'status', 'remove', 'verify'] as const;

export const manageFrontend = defineTool({
  name: 'manage_frontend',
  title: 'Manage the frontend',
  description:
    'The app\'s static site. Actions: start_deployment (deployment_id, after the zip was PUT to the uploadUrl of create_frontend_deployment): ' +
    'builds it and waits until READY or ERROR (error says why: unsafe paths, symlinks, zip bombs, bad _redirects…); the previous site serves until the new one is READY. ' +
    'list_deployments (newest first, `active` marks the one served; the last 3 READY are kept). activate_deployment (deployment_id): serve an older READY deployment again (instant rollback). ' +
    'set_env (vars: {KEY: "value"}): upserts build-time variables (keys only are ever shown). configure_custom_domain (domain_action add|list|status|remove|verify, hostname, domain_id, validation_method). ' +
    'create_from_source / start_from_source (server-side builds) are not available here: build locally and use create_frontend_deployment.',
  input: z.object({
    action: z.enum(['start_deployment', 'list_deployments', 'activate_deployment', 'create_from_source', 'start_from_source', 'set_env', 'configure_custom_domain']).describe('What to do.'),
    app_id: appId,
    deployment_id: z.guid().optional().describe('start_deployment / activate_deployment / start_from_source: the deployment id.'),
    lockfile_hash: z.string().regex(/^[a-f0-9]{8,64}$/).optional().describe('start_from_source: sha256 of the lockfile.'),
    build_command: z.string().max(500).optional().describe('start_from_source: e.g. "npm run build".'),
    output_dir: z.string().max(200).optional().describe('start_from_source: e.g. "dist".'),
    package_manager: z.enum(['npm', 'pnpm', 'yarn']).optional().describe('start_from_source: npm | pnpm | yarn.'),
    user_env: z.record(z.string(), z.string()).optional().describe('start_from_source: build env vars.'),
    vars: frontendEnvBody.optional().describe('set_env: { KEY: "value" } (non-empty values; upsert).'),
    domain_action: z.enum(domainActions).optional().describe('configure_custom_domain: add | list | status | remove | verify.'),
    hostname: z.string().min(1).max(253).optional().describe('configure_custom_domain add: e.g. "www.example.com".'),
    domain_id: z.guid().optional().describe('configure_custom_domain status / remove / verify: the domain id from add or list.'),
    validation_method: z.enum(['http', 'txt']).optional().describe('configure_custom_domain add: http (default) or txt.'),
  }).strict(),
  requires: {
    start_deployment: ['deployment_id'],
    activate_deployment: ['deployment_id'],
    start_from_source: ['deployment_id'],
    set_env: ['vars'],
    configure_custom_domain: ['domain_action'],
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async run(args, { platform }) {
    const tool = `manage_frontend.${args.action}`;
    const app = segment(args.app_id);
    const base = `/v1/${app}/frontend`;
    switch (args.action) {
      case 'start_deployment':
        return startAndWait(platform, {
          base, id: segment(args.deployment_id!), tool, timeoutMs: pollTimeoutMs, intervalMs: pollIntervalMs,
          listHint: 'Call manage_frontend action "list_deployments" (or GET /v1/{app_id}/frontend/deployments/{id})',
        });
      case 'list_deployments':
        return restResult(await platform.call({ method: 'GET', path: `${base}/deployments`, tool }));
      case 'activate_deployment':
        return restResult(await platform.call({ method: 'POST', path: `${base}/deployments/${segment(args.deployment_id!)}/activate`, tool }));
      case 'create_from_source':
        return restResult(await platform.call({ method: 'POST', path: `${base}/deployments/from-source`, body: {}, tool }));
      case 'start_from_source':
        return restResult(await platform.call({
          method: 'POST', path: `${base}/deployments/from-source/${segment(args.deployment_id!)}/start`, tool,
          body: { lockfileHash: args.lockfile_hash, buildCommand: args.build_command, outputDir: args.output_dir, packageManager: args.package_manager, userEnv: args.user_env },
        }));
      case 'set_env':
        return restResult(await platform.call({ method: 'PATCH', path: `${base}/env`, body: args.vars, tool }));
      case 'configure_custom_domain': {
        const domains = `/v1/${app}/custom-domains`;
        const needs = (field: 'hostname' | 'domain_id') => errorResult(missingField(field, `configure_custom_domain (domain_action ${args.domain_action})`));
        switch (args.domain_action!) {
          case 'add':
            if (!args.hostname) return needs('hostname');
            return restResult(await platform.call({ method: 'POST', path: domains, body: { hostname: args.hostname, validation_method: args.validation_method }, tool }));
          case 'list':
            return restResult(await platform.call({ method: 'GET', path: domains, tool }));
          case 'status':
            if (!args.domain_id) return needs('domain_id');
            return restResult(await platform.call({ method: 'GET', path: `${domains}/${segment(args.domain_id)}/status`, tool }));
          case 'verify':
            if (!args.domain_id) return needs('domain_id');
            return restResult(await platform.call({ method: 'POST', path: `${domains}/${segment(args.domain_id)}/verify`, tool }));
          case 'remove':
            if (!args.domain_id) return needs('domain_id');
            return restResult(await platform.call({ method: 'DELETE', path: `${domains}/${segment(args.domain_id)}`, tool }));
        }
      }
    }
  },
});
