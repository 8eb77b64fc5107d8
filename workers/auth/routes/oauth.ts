/**
 * OAuth sign-in and provider config (API.md §6 "OAuth") are a later issue: their paths answer
 * 501 FEATURE_NOT_AVAILABLE instead of a bare 404, so SDKs and agents learn why.
 */
import { Hono } from 'hono';
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { authCall, requireOwner } from '../http.ts';

export const oauthRoutes = new Hono<{ Bindings: Env }>();

const unavailable = () => new ApiError('FEATURE_NOT_AVAILABLE', 'OAuth sign-in is not available on this deployment yet.', {
  remediation: 'Use email + password (POST /auth/{app_id}/signup, /login) or a magic link (POST /auth/{app_id}/magic-link).',
});

oauthRoutes.all('/auth/:app/oauth/*', (c) => {
  authCall(c);
  throw unavailable();
});

oauthRoutes.all('/v1/:app/auth/oauth-config', (c) => {
  requireOwner(c);
  throw unavailable();
});

oauthRoutes.all('/v1/:app/auth/oauth-config/*', (c) => {
  requireOwner(c);
  throw unavailable();
});
