/**
 * A local stand-in for the eight built-in OAuth providers, on one loopback port: each provider's
 * endpoints under `/{provider}/…` with the paths of its real URLs (the auth Worker reaches them through
 * OAUTH_TEST_PROVIDER_BASE_URL, workers/auth/services/oauth-catalogue.ts) and its response shapes —
 * Google/Microsoft/LinkedIn/Apple RS256 ID tokens with their real issuers (Microsoft per tenant), Apple's
 * form_post page and ES256 client-secret check, GitHub's `/user` + `/user/emails`, Discord's
 * `/users/@me`, Facebook's `/me`, X's PKCE-only flow and `/2/users/me` without email. The token endpoint
 * checks client authentication, the redirect URI, single use of the code and PKCE (S256), like the
 * real ones. Tests steer it with `user` (who signs in) and `behaviour` (failures to simulate).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportPKCS8, generateKeyPair, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import { builtInProviders, type BuiltInProvider } from '../../workers/auth/services/oauth-catalogue.ts';

/** Who signs in at the mock provider. */
export interface MockUser {
  uid: string;
  email: string | null;
  emailVerified: boolean;
  name: string;
  avatarUrl?: string;
  /** GitHub login / X username / Discord username. */
  username?: string;
  /** Microsoft tenant id. */
  tenantId?: string;
}

/** Failures to simulate on the next sign-ins (reset with `reset()`). */
export interface MockBehaviour {
  /** The authorize endpoint redirects back with this `error` (e.g. access_denied). */
  authorizeError?: string;
  /** The token endpoint answers this status with a plain-text body. */
  tokenStatus?: number;
  /** Claims overriding the ID token's (e.g. `{ aud: 'someone-else' }`). */
  idTokenClaims?: JWTPayload;
  /** Sign ID tokens with a key that is not in the JWKS. */
  rogueSigningKey?: boolean;
}

interface IssuedCode {
  provider: BuiltInProvider;
  clientId: string;
  redirectUri: string;
  challenge: string | null;
  nonce: string | null;
  user: MockUser;
  used: boolean;
}

export const clientIdOf = (provider: string) => `${provider}-client-id`;
export const clientSecretOf = (provider: string) => `${provider}-client-secret`;
export const appleTeamId = 'TEAM123456';
export const appleKeyId = 'KEY1234567';

const realIssuers: Record<string, string> = {
  google: 'https://accounts.google.com',
  linkedin: 'https://www.linkedin.com/oauth',
  apple: 'https://appleid.apple.com',
};

function pathOf(url: string | null): string | null {
  return url === null ? null : new URL(url).pathname;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** The running mock. */
export class OAuthProvidersMock {
  user: MockUser = { uid: 'u1', email: 'someone@example.com', emailVerified: true, name: 'Some One' };
  behaviour: MockBehaviour = {};
  /** Every token request the mock received (provider, form fields, Authorization header). */
  readonly tokenRequests: { provider: string; form: Record<string, string>; authorization: string | null }[] = [];
  /** Apple's team key (PKCS#8 PEM) to configure as provider_metadata.privateKey. */
  applePrivateKeyPem = '';
  private server: Server | null = null;
  private signingKey!: CryptoKey;
  private rogueKey!: CryptoKey;
  private publicJwk!: JWK;
  private applePublicKey!: CryptoKey;
  private readonly codes = new Map<string, IssuedCode>();
  private readonly tokens = new Map<string, MockUser>();
  /** Apple sends the name only on the first consent of a user. */
  private readonly appleConsented = new Set<string>();
  url = '';

  /** Starts on a free loopback port. */
  async start(): Promise<void> {
    const pair = await generateKeyPair('RS256', { extractable: true });
    this.signingKey = pair.privateKey;
    this.publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'mock-key-1', alg: 'RS256', use: 'sig' };
    this.rogueKey = (await generateKeyPair('RS256')).privateKey;
    const apple = await generateKeyPair('ES256', { extractable: true });
    this.applePrivateKeyPem = await exportPKCS8(apple.privateKey);
    this.applePublicKey = apple.publicKey;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => json(res, 500, { error: 'mock_failure', error_description: String(error) }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Forgets simulated failures. */
  reset(): void {
    this.behaviour = {};
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const [, provider, ...rest] = url.pathname.split('/');
    if (!provider || !Object.hasOwn(builtInProviders, provider)) return json(res, 404, { error: 'unknown provider' });
    const p = provider as BuiltInProvider;
    const spec = builtInProviders[p];
    const path = `/${rest.join('/')}`;
    if (path === pathOf(spec.authorizationUrl)) return this.authorize(p, url, res);
    if (path === pathOf(spec.tokenUrl) && req.method === 'POST') return this.token(p, req, res);
    if (path === pathOf(spec.jwksUri)) return json(res, 200, { keys: [this.publicJwk] });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = bearer ? this.tokens.get(bearer) : undefined;
    if (path === pathOf(spec.userinfoUrl) || (p === 'github' && path === '/user/emails')) {
      if (!user) return json(res, 401, { message: 'Bad credentials' });
      return json(res, 200, this.profile(p, path, user));
    }
    json(res, 404, { error: 'not found', path });
  }

  private authorize(provider: BuiltInProvider, url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    const state = q.get('state') ?? '';
    const back = new URL(redirectUri);
    if (this.behaviour.authorizeError) {
      back.searchParams.set('error', this.behaviour.authorizeError);
      back.searchParams.set('error_description', 'The user denied the request');
      back.searchParams.set('state', state);
      res.writeHead(302, { location: back.href });
      res.end();
      return;
    }
    if (q.get('client_id') !== clientIdOf(provider) || q.get('response_type') !== 'code') return json(res, 400, { error: 'invalid_request' });
    const challenge = q.get('code_challenge');
    if (challenge && q.get('code_challenge_method') !== 'S256') return json(res, 400, { error: 'invalid_request', error_description: 'S256 only' });
    if (provider === 'x' && !challenge) return json(res, 400, { error: 'invalid_request', error_description: 'PKCE required' });
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { provider, clientId: clientIdOf(provider), redirectUri, challenge, nonce: q.get('nonce'), user: { ...this.user }, used: false });
    if (provider === 'apple') {
      if (q.get('response_mode') !== 'form_post') return json(res, 400, { error: 'invalid_request', error_description: 'form_post required with name/email scopes' });
      const fields: Record<string, string> = { code, state };
      if (!this.appleConsented.has(this.user.uid)) {
        this.appleConsented.add(this.user.uid);
        const [firstName, ...last] = this.user.name.split(' ');
        fields.user = JSON.stringify({ name: { firstName, lastName: last.join(' ') }, email: this.user.email });
      }
      const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replaceAll('&', '&amp;').replaceAll('"', '&quot;')}">`).join('');
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html><body onload="document.forms[0].submit()"><form method="post" action="${redirectUri}">${inputs}</form></body></html>`);
      return;
    }
    back.searchParams.set('code', code);
    back.searchParams.set('state', state);
    res.writeHead(302, { location: back.href });
    res.end();
  }

  private async checkClient(provider: BuiltInProvider, form: URLSearchParams, authorization: string | null): Promise<boolean> {
    if (builtInProviders[provider].clientAuth === 'basic') {
      // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
      const decoded = Buffer.from(/^Basic (.+)$/.exec(authorization ?? '')?.[1] ?? '', 'base64').toString('utf8');
      const [id = '', secret = ''] = decoded.split(':').map((part) => decodeURIComponent(part.replaceAll('+', ' ')));
      return id === clientIdOf(provider) && secret === clientSecretOf(provider);
    }
    if (form.get('client_id') !== clientIdOf(provider)) return false;
    if (provider !== 'apple') return form.get('client_secret') === clientSecretOf(provider);
    try {
      await jwtVerify(form.get('client_secret') ?? '', this.applePublicKey, {
        issuer: appleTeamId, subject: clientIdOf('apple'), audience: 'https://appleid.apple.com', algorithms: ['ES256'],
      });
      return true;
    } catch {
      return false;
    }
  }

  private async token(provider: BuiltInProvider, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    this.tokenRequests.push({ provider, form: Object.fromEntries(form), authorization: req.headers.authorization ?? null });
    if (this.behaviour.tokenStatus) {
      res.writeHead(this.behaviour.tokenStatus, { 'content-type': 'text/plain' });
      res.end('upstream exploded');
      return;
    }
    if (!(await this.checkClient(provider, form, req.headers.authorization ?? null))) return json(res, 401, { error: 'invalid_client' });
    const issued = this.codes.get(form.get('code') ?? '');
    if (!issued || issued.used || issued.provider !== provider || form.get('grant_type') !== 'authorization_code') return json(res, 400, { error: 'invalid_grant', error_description: 'Bad code' });
    issued.used = true;
    if (form.get('redirect_uri') !== issued.redirectUri) return json(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
    if (issued.challenge && s256(form.get('code_verifier') ?? '') !== issued.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
    const accessToken = randomBytes(20).toString('hex');
    this.tokens.set(accessToken, issued.user);
    const body: Record<string, unknown> = { access_token: accessToken, token_type: provider === 'github' ? 'bearer' : 'Bearer', expires_in: 3600, scope: 'granted' };
    if (builtInProviders[provider].issuer) body.id_token = await this.idToken(provider, issued);
    json(res, 200, body);
  }

  private async idToken(provider: BuiltInProvider, issued: IssuedCode): Promise<string> {
    const u = issued.user;
    const tenant = u.tenantId ?? '9188040d-6c67-4c5b-b112-36a304b66dad';
    const iss = provider === 'microsoft' ? `https://login.microsoftonline.com/${tenant}/v2.0` : realIssuers[provider]!;
    const claims: JWTPayload = {
      sub: u.uid,
      ...(issued.nonce ? { nonce: issued.nonce } : {}),
      ...(u.email ? { email: u.email } : {}),
      // Apple sends the flag as a string; Microsoft sends none.
      ...(provider === 'apple' ? { email_verified: String(u.emailVerified) } : provider === 'microsoft' ? {} : { email_verified: u.emailVerified }),
      ...(provider === 'apple' ? {} : { name: u.name, picture: u.avatarUrl ?? `https://img.example/${u.uid}.png` }),
      ...(provider === 'microsoft' ? { tid: tenant, preferred_username: u.email } : {}),
      ...this.behaviour.idTokenClaims,
    };
    const { iss: issOverride, aud: audOverride, exp: expOverride, ...rest } = claims;
    const key = this.behaviour.rogueSigningKey ? this.rogueKey : this.signingKey;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(rest)
      .setProtectedHeader({ alg: 'RS256', kid: 'mock-key-1' })
      .setIssuer(String(issOverride ?? iss))
      .setAudience((audOverride as string | undefined) ?? issued.clientId)
      .setIssuedAt(now - (expOverride !== undefined ? 7200 : 0))
      .setExpirationTime(expOverride ?? now + 3600)
      .sign(key);
  }

  private profile(provider: BuiltInProvider, path: string, u: MockUser): unknown {
    const username = u.username ?? u.name.toLowerCase().replaceAll(/[^a-z0-9]/g, '');
    switch (provider) {
      case 'github':
        if (path === '/user/emails') {
          return [
            { email: `${username}@old.example`, primary: false, verified: true, visibility: null },
            ...(u.email ? [{ email: u.email, primary: true, verified: u.emailVerified, visibility: 'private' }] : []),
          ];
        }
        return { id: Number(u.uid.replace(/\D/g, '') || '1'), login: username, name: u.name, avatar_url: `https://avatars.example/${u.uid}`, email: null };
      case 'discord':
        return { id: u.uid, username, global_name: u.name, avatar: 'abc123', email: u.email, verified: u.emailVerified };
      case 'facebook':
        return { id: u.uid, name: u.name, email: u.email, picture: { data: { url: `https://fb.example/${u.uid}.jpg` } } };
      case 'x':
        return { data: { id: u.uid, name: u.name, username, profile_image_url: `https://pbs.example/${u.uid}.jpg` } };
      default:
        return { sub: u.uid, email: u.email, email_verified: u.emailVerified, name: u.name };
    }
  }
}
