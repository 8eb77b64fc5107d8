/**
 * The auth Worker: end-user auth for every app (API.md §6) — `/auth/{app}/*` in the legacy error
 * envelope — and its owner routes under `/v1/{app}/auth/*` and `/v1/{app}/admin/auth/*` in the agent
 * envelope. Reached only through the router, which resolves the caller and the app first.
 */
import { authApp } from './app.ts';
import type { Env } from './env.ts';

export default {
  fetch: (request, env, ctx) => authApp.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
