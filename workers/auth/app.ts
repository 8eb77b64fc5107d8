/**
 * The auth Worker's HTTP routes (API.md §6: end-user auth and its owner routes) as one Hono app,
 * apart from the Worker entrypoint (index.ts), so route scenarios also run in-process in Node:
 * `authApp.request(path, init, env, ctx)` with injected bindings (test/helpers/in-process.ts).
 */
import { Hono } from 'hono';
import type { Env } from './env.ts';
import { onAuthError, onAuthNotFound } from './http.ts';
import { adminUserRoutes } from './routes/admin-users.ts';
import { authConfigRoutes } from './routes/auth-config.ts';
import { devOutboxRoutes } from './routes/dev-outbox.ts';
import { jwksRoutes } from './routes/jwks.ts';
import { magicLinkRoutes } from './routes/magic-link.ts';
import { meRoutes } from './routes/me.ts';
import { oauthRoutes } from './routes/oauth.ts';
import { oauthConfigRoutes } from './routes/oauth-config.ts';
import { passwordRoutes } from './routes/password.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { signingKeyRoutes } from './routes/signing-keys.ts';
import { signupRoutes } from './routes/signup.ts';
import { verifyEmailRoutes } from './routes/verify-email.ts';

/** Every auth route: end users' (per-IP limits) first, then app owners' (service key). */
export const authApp = new Hono<{ Bindings: Env }>();
// End users (public, per-IP limits).
authApp.route('/', signupRoutes);
authApp.route('/', sessionRoutes);
authApp.route('/', meRoutes);
authApp.route('/', magicLinkRoutes);
authApp.route('/', verifyEmailRoutes);
authApp.route('/', passwordRoutes);
authApp.route('/', jwksRoutes);
// App owners (service key).
authApp.route('/', authConfigRoutes);
authApp.route('/', signingKeyRoutes);
authApp.route('/', devOutboxRoutes);
authApp.route('/', adminUserRoutes);
authApp.route('/', oauthConfigRoutes);
authApp.route('/', oauthRoutes);
authApp.onError(onAuthError);
authApp.notFound(onAuthNotFound);
