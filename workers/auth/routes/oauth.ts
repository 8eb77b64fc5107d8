/**
 * Routes: OAuth sign-in (API.md §6 "OAuth"), public, legacy envelope.
 * - GET /auth/:app/oauth/:provider?redirect_to=…[&redirect_uri=…] → 302 to the provider.
 * - GET /auth/:app/oauth/:provider/callback?code&state[&error] → 302 to redirect_to with the tokens in
 *   the query (`access_token`, `refresh_token`, `expires_in`, `token_type=Bearer`, as the SDK's
 *   handleOAuthCallback reads them), or the JSON LoginResponse when the sign-in had no redirect_to.
 * - POST the same callback: Apple's `form_post` (form fields code, state, id_token, user).
 * Provider config is in oauth-config.ts.
 */
import { Hono } from 'hono';
import { ApiError } from '../../shared/errors.ts';
import { providerName } from '../../shared/schemas/oauth.ts';
import type { Env } from '../env.ts';
import { authCall, limitedCall, type AuthContext } from '../http.ts';
import { finishSignIn, startQuery, startSignIn } from '../services/oauth-flow.ts';

export const oauthRoutes = new Hono<{ Bindings: Env }>();

/** Tokens in a URL must not leak on: no caching, no Referer. */
const redirectHeaders = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

function provider(c: AuthContext): string {
  const result = providerName.safeParse(c.req.param('provider'));
  if (!result.success) throw new ApiError('RESOURCE_NOT_FOUND', 'OAuth provider not found', { remediation: 'Provider names are lowercase, e.g. google.' });
  return result.data;
}

oauthRoutes.get('/auth/:app/oauth/:provider', async (c) => {
  const call = await limitedCall(c, 'oauth');
  const query = startQuery.safeParse(c.req.query());
  if (!query.success) throw new ApiError('VALIDATION_INVALID_INPUT', 'redirect_to and redirect_uri must be URLs of at most 2000 characters');
  const location = await startSignIn(call, provider(c), query.data);
  return new Response(null, { status: 302, headers: { location, ...redirectHeaders } });
});

async function callback(c: AuthContext, params: URLSearchParams): Promise<Response> {
  const call = authCall(c);
  const { login, redirectTo } = await finishSignIn(call, provider(c), params);
  if (!redirectTo) return c.json(login, 200, { 'cache-control': 'no-store' });
  const target = new URL(redirectTo);
  target.searchParams.set('access_token', login.access_token);
  target.searchParams.set('refresh_token', login.refresh_token);
  target.searchParams.set('expires_in', String(login.expires_in));
  target.searchParams.set('token_type', login.token_type);
  return new Response(null, { status: 302, headers: { location: target.href, ...redirectHeaders } });
}

oauthRoutes.get('/auth/:app/oauth/:provider/callback', (c) => callback(c, new URL(c.req.url).searchParams));

oauthRoutes.post('/auth/:app/oauth/:provider/callback', async (c) => {
  const type = c.req.header('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    authCall(c);
    throw new ApiError('VALIDATION_INVALID_INPUT', 'Missing code or state parameter', { remediation: 'The POST callback takes the provider\'s form_post (application/x-www-form-urlencoded).' });
  }
  const form = new URLSearchParams(await c.req.text());
  return callback(c, form);
});

oauthRoutes.all('/auth/:app/oauth/*', (c) => {
  authCall(c);
  throw new ApiError('RESOURCE_NOT_FOUND', 'Not found', { remediation: 'OAuth paths: GET /auth/{app_id}/oauth/{provider} and GET|POST /auth/{app_id}/oauth/{provider}/callback.' });
});
