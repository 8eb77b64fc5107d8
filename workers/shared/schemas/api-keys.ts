/**
 * Body of POST /api-keys (API.md §2), shared by the REST route and the MCP tool `manage_auth_config`
 * (action `generate_service_key`). `scopes` is the legacy form and may not be mixed with the new fields.
 */
import { z } from 'zod';
import { appIdPattern } from '../validation.ts';
import { extraKeyScopes, keyScopes } from './enums.ts';

/** The fields, without the cross-field rules (so tools can pick from them). */
export const createApiKeyFields = z.object({
  name: z.string().trim().min(1).max(100),
  key_scope: z.enum(keyScopes).optional(),
  target_app_id: z.string().regex(appIdPattern, 'must be an app id (app_ + 12 characters)').optional(),
  additional_scopes: z.array(z.enum(extraKeyScopes)).max(2).optional(),
  scopes: z.array(z.string().regex(/^(\*|app:app_[0-9a-z]{12}|ai:gateway|substrate)$/, 'must be "*", "app:{app_id}", "ai:gateway" or "substrate"')).min(1).optional(),
  scope: z.enum(['app', 'substrate', 'both']).optional(),
  organization_id: z.string().max(100).optional(),
});

/** Body of POST /api-keys: the fields (strict) and their cross-field rules (`key_scope: "app"` needs `target_app_id`, …). */
export const createApiKeyBody = createApiKeyFields.strict().superRefine((body, ctx) => {
  if (body.scopes && (body.key_scope || body.additional_scopes)) {
    ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'legacy "scopes" cannot be combined with key_scope or additional_scopes' });
  }
  if (body.key_scope === 'app' && !body.target_app_id) {
    ctx.addIssue({ code: 'custom', path: ['target_app_id'], message: 'required when key_scope is "app"' });
  }
  if (body.key_scope !== 'app' && body.target_app_id && !body.scopes) {
    ctx.addIssue({ code: 'custom', path: ['target_app_id'], message: 'only valid with key_scope "app"' });
  }
});
export type CreateApiKeyBody = z.infer<typeof createApiKeyBody>;
