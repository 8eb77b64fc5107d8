/**
 * Tool `manage_durable_objects` (API.md §13 → §10.1, base /v1/{app}/durable-objects). Each action is
 * the REST call, so answers and errors are the REST ones.
 */
import { z } from 'zod';
import { durableObjectAccessModeValues } from '../../shared/schemas/hosting.ts';
import { defineTool, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

export const manageDurableObjects = defineTool({
  name: 'manage_durable_objects',
  title: 'Manage Durable Objects',
  description:
    'Stateful per-key actors (chat rooms, rate limiters, agents) reachable at https://{subdomain}.{apps domain}/_do/{name}/{instance} over HTTP and WebSocket ' +
    '(locally http://{subdomain}.localhost:8787/_do/…). Actions: deploy (name kebab-case, code: one TypeScript file with exactly one exported PascalCase class whose kebab-case is the name, ' +
    'only cloudflare:* imports; access_mode public | authenticated (default: a verified end-user token in Authorization or ?token=, or a service key) | service_key) → the class record, ' +
    'status READY or ERROR with error_message (a constructor that throws is ERROR). list, get (+ code), delete (destroys every instance and its storage), usage, ' +
    'list_env (keys only), set_env (key UPPER_SNAKE, value; not a class binding such as CHAT_ROOM), delete_env — env changes redeploy every class; storage survives redeploys. ' +
    'Use state.storage, state.acceptWebSocket and webSocketMessage as in the docs (butterbase_docs topic "durable-objects"). The verified user id arrives in the x-butterbase-user-id header. ' +
    'Inside fetch, `const ctx = butterbase.ctx(req, this.env, this.state)` (a platform global, no import) gives ctx.invoke(fn, body), ctx.invokeDO(class, key, body), ctx.user, ctx.request.caller / loopDepth and ctx.env. At most 5 classes per app.',
  input: z.object({
    action: z.enum(['deploy', 'list', 'get', 'delete', 'usage', 'list_env', 'set_env', 'delete_env']).describe('What to do.'),
    app_id: appId,
    name: z.string().min(1).max(63).optional().describe('deploy / get / delete / usage: the kebab-case name, e.g. "chat-room".'),
    code: z.string().min(1).optional().describe('deploy: the TypeScript source of the class.'),
    access_mode: z.enum(durableObjectAccessModeValues).optional().describe('deploy: public | authenticated (default) | service_key.'),
    key: z.string().min(1).max(128).optional().describe('set_env / delete_env: the UPPER_SNAKE variable name.'),
    value: z.string().max(32 * 1024).optional().describe('set_env: the value (never shown again).'),
  }).strict(),
  requires: { deploy: ['name', 'code'], get: ['name'], delete: ['name'], usage: ['name'], set_env: ['key', 'value'], delete_env: ['key'] },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_durable_objects.${args.action}`;
    const base = `/v1/${segment(args.app_id)}/durable-objects`;
    switch (args.action) {
      case 'deploy':
        return restResult(await platform.call({ method: 'POST', path: base, body: { name: args.name, code: args.code, ...(args.access_mode ? { access_mode: args.access_mode } : {}) }, tool }));
      case 'list':
        return restResult(await platform.call({ method: 'GET', path: base, tool }));
      case 'get':
        return restResult(await platform.call({ method: 'GET', path: `${base}/${segment(args.name!)}`, tool }));
      case 'delete':
        return restResult(await platform.call({ method: 'DELETE', path: `${base}/${segment(args.name!)}`, tool }));
      case 'usage':
        return restResult(await platform.call({ method: 'GET', path: `${base}/${segment(args.name!)}/usage`, tool }));
      case 'list_env':
        return restResult(await platform.call({ method: 'GET', path: `${base}/env`, tool }));
      case 'set_env':
        return restResult(await platform.call({ method: 'PUT', path: `${base}/env/${segment(args.key!)}`, body: { value: args.value }, tool }));
      case 'delete_env':
        return restResult(await platform.call({ method: 'DELETE', path: `${base}/env/${segment(args.key!)}`, tool }));
    }
  },
});
