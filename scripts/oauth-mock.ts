/**
 * `npm run dev:oauth-mock`: a local OpenID Connect provider for trying social sign-in offline — an
 * oauth2-mock-server on http://127.0.0.1:8080 (OAUTH_MOCK_PORT) whose every sign-in is one test user:
 * the ID token and userinfo carry `sub`, `email`, `email_verified` and `name` from OAUTH_MOCK_SUB
 * (mock-user-1), OAUTH_MOCK_EMAIL (mock.user@example.com), OAUTH_MOCK_EMAIL_VERIFIED (true) and
 * OAUTH_MOCK_NAME (Mock User). It signs in without a login page: /authorize redirects straight back.
 * Configure it as a custom provider with `issuer: "http://127.0.0.1:8080"` (README "Social sign-in").
 * Local runs accept plain-http provider endpoints (OAUTH_ALLOW_INSECURE_PROVIDERS, workers/registry.ts).
 */
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.env.OAUTH_MOCK_PORT ?? 8080);
const claims = {
  sub: process.env.OAUTH_MOCK_SUB ?? 'mock-user-1',
  email: process.env.OAUTH_MOCK_EMAIL ?? 'mock.user@example.com',
  email_verified: (process.env.OAUTH_MOCK_EMAIL_VERIFIED ?? 'true') === 'true',
  name: process.env.OAUTH_MOCK_NAME ?? 'Mock User',
};

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
server.service.on('beforeTokenSigning', (token) => Object.assign(token.payload, claims));
server.service.on('beforeUserinfo', (userinfo) => Object.assign(userinfo.body, claims));
await server.start(port, '127.0.0.1');
console.log(`oauth2-mock-server: issuer ${server.issuer.url} (every sign-in is ${claims.email}, sub ${claims.sub}). Ctrl-C stops it.`);

const stop = () => void server.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
