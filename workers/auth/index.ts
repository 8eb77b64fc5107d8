/**
 * The auth Worker: end-user auth for every app (API.md §6) — `/auth/{app}/*` in the legacy error
 * envelope — and its owner routes under `/v1/{app}/auth/*` and `/v1/{app}/admin/auth/*` in the agent
 * envelope. Reached only through the router, which resolves the caller and the app first.
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

const app = new Hono<{ Bindings: Env }>();
// End users (public, per-IP limits).
app.route('/', signupRoutes);
app.route('/', sessionRoutes);
app.route('/', meRoutes);
app.route('/', magicLinkRoutes);
app.route('/', verifyEmailRoutes);
app.route('/', passwordRoutes);
app.route('/', jwksRoutes);
// App owners (service key).
app.route('/', authConfigRoutes);
app.route('/', signingKeyRoutes);
app.route('/', devOutboxRoutes);
app.route('/', adminUserRoutes);
app.route('/', oauthConfigRoutes);
app.route('/', oauthRoutes);
app.onError(onAuthError);
app.notFound(onAuthNotFound);

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
