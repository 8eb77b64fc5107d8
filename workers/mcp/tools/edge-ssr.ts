/**
 * Tool `manage_edge_ssr` (API.md §13 → §10.3, base /v1/{app}/edge-ssr): each action is the REST call an
 * SDK or curl makes, so answers and errors are the REST ones. `start` waits for the build (≤ 60 s,
 * then TIMEOUT with the deployment as it is).
 */
import { z } from 'zod';
import { createEdgeSsrDeploymentBody, frontendEnvBody } from '../../shared/schemas/hosting.ts';
import { defineTool, jsonResult, restResult } from '../tool.ts';
import { startAndWait } from './deployments.ts';
import { appId, segment } from './fields.ts';

/** How often start polls and for how long (API.md §13: ≤ 60 s, else TIMEOUT). */
const pollIntervalMs = 1_000;
const pollTimeoutMs = 60_000;

export const manageEdgeSsr = defineTool({
  name: 'manage_edge_ssr',
  title: 'Manage Edge SSR deployments',
  description:
    'A server-rendered frontend on the app host https://{subdomain}.{apps domain} (locally http://{subdomain}.localhost:8787), rendered per request at the edge. ' +
    'The upload is the contents of .vercel/output/static/ (Cloudflare Pages advanced mode, e.g. from npx @cloudflare/next-on-pages, SvelteKit adapter-cloudflare or Astro\'s cloudflare adapter): ' +
    '_worker.js (a file, or a _worker.js/ directory with index.js) plus the static assets, which the worker reaches as env.ASSETS. ' +
    'Actions: create (framework nextjs-edge | remix-edge | other-edge) → { deployment_id, uploadUrl, expiresIn, maxSizeBytes }; then zip from inside the folder ' +
    '(cd .vercel/output/static && zip -r ../../ssr.zip .) and curl -X PUT "<uploadUrl>" -H "Content-Type: application/zip" --data-binary @ssr.zip. ' +
    'start (deployment_id): checks the bundle (WORKER_TOO_LARGE above 5 MB compressed), loads the worker once (a bundle that fails to load is ERROR with the runtime\'s message) and waits ≤ 60 s for READY or ERROR; ' +
    'the previous site (static or SSR) serves until the new one is READY, then it replaces it. list (limit) newest first, `active` marks the one served. ' +
    'activate (deployment_id): serve an older READY deployment again (instant rollback). set_env (vars: {KEY: "value"}): env vars the worker sees at run time ' +
    '(e.g. BUTTERBASE_URL and a key); they apply to the next deployment (redeploy to change). The worker\'s fetches to private, loopback and metadata addresses are refused. ' +
    'create_from_source / start_from_source (server-side builds) are not available here: build locally and use create.',
  input: z.object({
    action: z.enum(['create', 'start', 'list', 'activate', 'set_env', 'create_from_source', 'start_from_source']).describe('What to do.'),
    app_id: appId,
    framework: createEdgeSsrDeploymentBody.shape.framework.unwrap().optional().describe('create: nextjs-edge (default) | remix-edge | other-edge (any other Pages advanced-mode bundle).'),
    deployment_id: z.guid().optional().describe('start / activate / start_from_source: the deployment id.'),
    limit: z.number().int().min(1).max(100).optional().describe('list: at most this many deployments (newest first).'),
    lockfile_hash: z.string().regex(/^[a-f0-9]{8,64}$/).optional().describe('start_from_source: sha256 of the lockfile.'),
    build_command: z.string().max(500).optional().describe('start_from_source: default "npx @cloudflare/next-on-pages".'),
    output_dir: z.string().max(200).optional().describe('start_from_source: default ".vercel/output/static".'),
    package_manager: z.enum(['npm', 'pnpm', 'yarn']).optional().describe('start_from_source: npm | pnpm | yarn.'),
    user_env: z.record(z.string(), z.string()).optional().describe('start_from_source: build env vars.'),
    vars: frontendEnvBody.optional().describe('set_env: { KEY: "value" } (non-empty values; upsert; keys only are ever shown).'),
  }).strict(),
  requires: {
    start: ['deployment_id'],
    activate: ['deployment_id'],
    start_from_source: ['deployment_id'],
    set_env: ['vars'],
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async run(args, { platform }) {
    const tool = `manage_edge_ssr.${args.action}`;
    const base = `/v1/${segment(args.app_id)}/edge-ssr`;
    switch (args.action) {
      case 'create': {
        const response = await platform.call({ method: 'POST', path: `${base}/deployments`, body: args.framework ? { framework: args.framework } : {}, tool });
        if (!response.ok) return restResult(response);
        const { id, ...rest } = response.json as { id: string; uploadUrl: string; expiresIn: number; maxSizeBytes: number };
        return jsonResult({ deployment_id: id, ...rest });
      }
      case 'start':
        return startAndWait(platform, {
          base, id: segment(args.deployment_id!), tool, timeoutMs: pollTimeoutMs, intervalMs: pollIntervalMs,
          listHint: 'Call manage_edge_ssr action "list" (or GET /v1/{app_id}/edge-ssr/deployments/{id})',
        });
      case 'list': {
        const response = await platform.call({ method: 'GET', path: `${base}/deployments`, tool });
        if (!response.ok || args.limit === undefined) return restResult(response);
        const { deployments } = response.json as { deployments: unknown[] };
        return jsonResult({ deployments: deployments.slice(0, args.limit) });
      }
      case 'activate':
        return restResult(await platform.call({ method: 'POST', path: `${base}/deployments/${segment(args.deployment_id!)}/activate`, tool }));
      case 'set_env':
        return restResult(await platform.call({ method: 'PATCH', path: `${base}/env`, body: args.vars, tool }));
      case 'create_from_source':
        return restResult(await platform.call({ method: 'POST', path: `${base}/deployments/from-source`, body: {}, tool }));
      case 'start_from_source':
        return restResult(await platform.call({
          method: 'POST', path: `${base}/deployments/from-source/${segment(args.deployment_id!)}/start`, tool,
          body: { lockfileHash: args.lockfile_hash, buildCommand: args.build_command, outputDir: args.output_dir, packageManager: args.package_manager, userEnv: args.user_env },
        }));
    }
  },
});
