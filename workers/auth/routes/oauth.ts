/**
 * OAuth sign-in (API.md §6 "OAuth") is not served yet: its paths answer 501 FEATURE_NOT_AVAILABLE
 * instead of a bare 404, so SDKs and agents learn why. Provider config is in oauth-config.ts.
 */
import { Hono } from 'hono';
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { authCall } from '../http.ts';

export const oauthRoutes = new Hono<{ Bindings: Env }>();

oauthRoutes.all('/auth/:app/oauth/*', (c) => {
  authCall(c);
  throw new ApiError('FEATURE_NOT_AVAILABLE', 'OAuth sign-in is not available on this deployment yet.', {
    remediation: 'Use email + password (POST /auth/{app_id}/signup, /login) or a magic link (POST /auth/{app_id}/magic-link).',
  });
});
