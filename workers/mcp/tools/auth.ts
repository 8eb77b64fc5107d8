/**
 * Tools `manage_auth_config` and `manage_auth_users` (API.md §13 → §2 PATCH config/jwt, POST /api-keys;
 * §6 /v1/{app}/admin/auth/users).
 */
import { z } from 'zod';
import { createApiKeyFields } from '../../shared/schemas/api-keys.ts';
import { jwtFields } from '../../shared/schemas/config.ts';
import { defineTool, missingField, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

export const manageAuthConfig = defineTool({
  name: 'manage_auth_config',
  title: 'Configure auth and service keys',
  description:
    'Actions: update_jwt (end-user token lifetimes: accessTokenTtl like "15m"/"1h"/"7d", refreshTokenTtlDays; new tokens only); ' +
    'generate_service_key (a new bb_sk_ key, shown once: name, key_scope "account" (default) or "app" (then app_id), additional_scopes); ' +
    'configure_auth_hook (post_auth_function: a deployed function run after each signup, login and magic-link login with {event, user, isNewUser, provider}, ' +
    'as the service role, fire-and-forget — its errors never reach the end user; null removes the hook).',
  input: z.object({
    action: z.enum(['configure_auth_hook', 'update_jwt', 'generate_service_key']).describe('What to do.'),
    app_id: appId.optional(),
    post_auth_function: z.string().min(1).max(100).nullable().optional().describe('configure_auth_hook: function name, or null to remove the hook.'),
    accessTokenTtl: jwtFields.shape.accessTokenTtl.describe('update_jwt: access token lifetime, a number with s, m, h or d, e.g. "15m" (default "1h").'),
    refreshTokenTtlDays: jwtFields.shape.refreshTokenTtlDays.describe('update_jwt: refresh token lifetime in days (default 7).'),
    name: createApiKeyFields.shape.name.optional().describe('generate_service_key: a label for the key, e.g. "ci".'),
    key_scope: createApiKeyFields.shape.key_scope.describe('generate_service_key: "account" (all your apps, default) or "app" (only app_id).'),
    additional_scopes: createApiKeyFields.shape.additional_scopes.describe('generate_service_key: extra scopes.'),
    organization_id: createApiKeyFields.shape.organization_id.describe('generate_service_key: organization to create the key in (optional).'),
  }).strict(),
  requires: {
    configure_auth_hook: ['app_id', 'post_auth_function'],
    update_jwt: ['app_id'],
    generate_service_key: ['name'],
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_auth_config.${args.action}`;
    switch (args.action) {
      case 'configure_auth_hook':
        return restResult(await platform.call({
          method: 'PATCH', path: `/v1/${segment(args.app_id!)}/config/auth-hooks`, tool, body: { post_auth_function: args.post_auth_function },
        }));
      case 'update_jwt':
        return restResult(await platform.call({
          method: 'PATCH', path: `/v1/${segment(args.app_id!)}/config/jwt`, tool,
          body: { accessTokenTtl: args.accessTokenTtl, refreshTokenTtlDays: args.refreshTokenTtlDays },
        }));
      case 'generate_service_key': {
        if (args.key_scope === 'app' && !args.app_id) throw missingField('app_id', 'generate_service_key with key_scope "app"');
        return restResult(await platform.call({
          method: 'POST', path: '/api-keys', tool,
          body: {
            name: args.name,
            key_scope: args.key_scope,
            target_app_id: args.key_scope === 'app' ? args.app_id : undefined,
            additional_scopes: args.additional_scopes,
            organization_id: args.organization_id,
          },
        }));
      }
    }
  },
});

export const manageAuthUsers = defineTool({
  name: 'manage_auth_users',
  title: 'Manage end users',
  description:
    'The app\'s end users (people who signed up through /auth/{app_id}). Actions: list (id, email, provider, email_verified, last sign-in; ' +
    'limit 1–200, page with cursor = next_cursor); delete (user_id: removes the user and their sessions, irreversible).',
  input: z.object({
    action: z.enum(['list', 'delete']).describe('What to do.'),
    app_id: appId,
    user_id: z.string().min(1).max(100).optional().describe('delete: the end user\'s id.'),
    limit: z.number().int().min(1).max(200).optional().describe('list: page size (default 50).'),
    cursor: z.string().optional().describe('list: next_cursor of the previous page.'),
  }).strict(),
  requires: { delete: ['user_id'] },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_auth_users.${args.action}`;
    const base = `/v1/${segment(args.app_id)}/admin/auth/users`;
    switch (args.action) {
      case 'list':
        return restResult(await platform.call({ method: 'GET', path: base, query: { limit: args.limit, cursor: args.cursor }, tool }));
      case 'delete':
        return restResult(await platform.call({ method: 'DELETE', path: `${base}/${segment(args.user_id!)}`, tool }));
    }
  },
});
