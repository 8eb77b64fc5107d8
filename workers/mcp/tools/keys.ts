/**
 * Tool `manage_api_keys` (API.md §13 → §2 GET /api-keys, DELETE /api-keys/{key_id}).
 */
import { z } from 'zod';
import { defineTool, restResult } from '../tool.ts';
import { segment } from './fields.ts';

export const manageApiKeys = defineTool({
  name: 'manage_api_keys',
  title: 'List or revoke service keys',
  description:
    'Your account\'s bb_sk_ service keys. Actions: list (id, key_prefix, name, scopes, last_used_at — never the key itself); ' +
    'revoke (key_id: the key stops working on the next request). Create keys with manage_auth_config action "generate_service_key".',
  input: z.object({
    action: z.enum(['list', 'revoke']).describe('What to do.'),
    key_id: z.string().min(1).max(100).optional().describe('revoke: the key id from list.'),
  }).strict(),
  requires: { revoke: ['key_id'] },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_api_keys.${args.action}`;
    switch (args.action) {
      case 'list':
        return restResult(await platform.call({ method: 'GET', path: '/api-keys', tool }));
      case 'revoke':
        return restResult(await platform.call({ method: 'DELETE', path: `/api-keys/${segment(args.key_id!)}`, tool }));
    }
  },
});
