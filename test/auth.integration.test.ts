/**
 * End-user auth over real HTTP through the router (API.md §6): sign-up with the code from the dev
 * outbox, verification, login, /me, refresh rotation with replay detection, logout, magic link,
 * forgot/reset password in both field shapes, JWKS and key rotation, the app's verification
 * setting, per-IP limits, end-user admin, and the auth audit trail. Every §6 error path is in a
 * table (status, error string, code).
 *
 * Each test sends its own `cf-connecting-ip` (the router passes it on as the client IP), so the
 * per-IP limits of one test never spill into another.
 */
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createReadyApp, type ApiResponse } from './helpers/api.ts';
import { appDb, controlDb } from './helpers/control-db.ts';

const password = 'Passw0rd!';

/**
 * One app for the tests that neither change app-wide settings nor count app-wide rows (each uses
 * its own emails and client IPs); the others create their own. Fewer apps: less provisioning.
 */
let shared: string;
/** An app whose jwt_config one test changes; also "another app" for the cross-app test. */
let jwtApp: string;
beforeAll(async () => {
  [shared, jwtApp] = await Promise.all([createReadyApp('auth').then((a) => a.appId), createReadyApp('auth-jwt').then((a) => a.appId)]);
});

let ipCounter = 0;
/** A client IP no other test uses. */
function freshIp(): string {
  ipCounter += 1;
  return `10.${Math.floor(Math.random() * 200)}.${Math.floor(ipCounter / 250)}.${ipCounter % 250}`;
}

interface AuthRequest {
  body?: unknown;
  token?: string | null;
  ip?: string;
  method?: string;
}

/** Calls `/auth/{app}{path}` as an end user (no service key unless `token` is one). */
function auth(appId: string, path: string, options: AuthRequest = {}): Promise<ApiResponse> {
  return api(`/auth/${appId}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    body: options.body,
    token: options.token ?? null,
    headers: { 'cf-connecting-ip': options.ip ?? freshIp() },
  });
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The newest dev-outbox message for `email` with `purpose` (waits for mail sent after the response). */
async function latestCode(appId: string, email: string, purpose: 'verify_email' | 'magic_link' | 'password_reset', after?: string): Promise<string> {
  const found = await eventually(
    () => api(`/v1/${appId}/auth/dev/outbox?email=${encodeURIComponent(email)}`),
    (res) => res.body.messages?.some((m: any) => m.purpose === purpose && m.id !== after),
  );
  const message = found.body.messages.find((m: any) => m.purpose === purpose);
  expect(message, `no ${purpose} mail for ${email}`).toBeDefined();
  expect(message.code).toMatch(/^\d{6}$/);
  expect(message.text).toContain(message.code);
  return message.code;
}

/** The reset token of the newest password-reset mail for `email`. */
async function latestResetToken(appId: string, email: string): Promise<string> {
  const found = await eventually(
    () => api(`/v1/${appId}/auth/dev/outbox?email=${encodeURIComponent(email)}`),
    (res) => res.body.messages?.some((m: any) => m.purpose === 'password_reset'),
  );
  const message = found.body.messages.find((m: any) => m.purpose === 'password_reset');
  const token = /Reset token[^:]*: ([A-Za-z0-9]+)/.exec(message.text)?.[1];
  expect(token, 'no reset token in the reset mail').toBeDefined();
  return token!;
}

async function outboxIds(appId: string, email: string): Promise<string[]> {
  const res = await api(`/v1/${appId}/auth/dev/outbox?email=${encodeURIComponent(email)}`);
  return res.body.messages.map((m: any) => m.id);
}

async function signUp(appId: string, email: string, pw = password): Promise<ApiResponse> {
  const res = await auth(appId, '/signup', { body: { email, password: pw } });
  expect(res.status, res.text).toBe(201);
  return res;
}

async function login(appId: string, email: string, pw = password, ip?: string): Promise<ApiResponse> {
  return auth(appId, '/login', { body: { email, password: pw }, ip });
}

async function signedIn(appId: string, email: string) {
  await signUp(appId, email);
  const res = await login(appId, email);
  expect(res.status, res.text).toBe(200);
  return res.body as { access_token: string; refresh_token: string; expires_in: number; user: { id: string } };
}

function expectLegacyError(res: ApiResponse, status: number, error: string, code: string) {
  expect({ status: res.status, error: res.body?.error, code: res.body?.code }, res.text).toEqual({ status, error, code });
}

async function auditLogs(appId: string, query: string, atLeast = 1) {
  const res = await eventually(() => api(`/v1/${appId}/audit-logs?${query}`), (r) => r.status === 200 && r.body.total >= atLeast);
  expect(res.status).toBe(200);
  return res.body.logs as any[];
}

describe('sign-up to sign-out', () => {
  it('two users sign up (code from the dev outbox), verify, log in; refresh rotates and a replayed token kills its family', async () => {
    const appId = shared;
    const users: Record<string, { id: string; access: string; refresh: string }> = {};
    for (const email of ['alice@example.com', 'bob@example.com']) {
      const created = await auth(appId, '/signup', { body: { email: email.toUpperCase(), password, display_name: email.split('@')[0] } });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        user: { id: expect.any(String), email, email_verified: false, display_name: email.split('@')[0] },
        message: 'Verification email sent',
      });
      expect(created.body).not.toHaveProperty('access_token');

      // As in the reference, login works before verification (the SDK signs in right after sign-up).
      const early = await login(appId, email);
      expect(early.status).toBe(200);
      expect(early.body.user.email_verified).toBe(false);

      const code = await latestCode(appId, email, 'verify_email');
      const verified = await auth(appId, '/verify-email', { body: { email, code } });
      expect(verified.status).toBe(200);
      expect(verified.body).toEqual({ message: 'Email verified successfully' });

      const session = await login(appId, email);
      expect(session.status).toBe(200);
      expect(session.body).toMatchObject({
        token_type: 'Bearer', expires_in: 3600,
        user: { id: created.body.user.id, email, email_verified: true, display_name: email.split('@')[0], avatar_url: null },
      });
      expect(session.body.refresh_token.length).toBeGreaterThanOrEqual(32);
      users[email] = { id: created.body.user.id, access: session.body.access_token, refresh: session.body.refresh_token };
    }
    const alice = users['alice@example.com']!;
    const bob = users['bob@example.com']!;
    expect(alice.id).not.toBe(bob.id);

    const me = await auth(appId, '/me', { token: alice.access });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: alice.id, email: 'alice@example.com', email_verified: true, display_name: 'alice', avatar_url: null,
      provider: 'email', created_at: expect.any(String), last_sign_in_at: expect.any(String),
    });
    expect((await auth(appId, '/me', { token: bob.access })).body.id).toBe(bob.id);

    // Rotation: a new pair, and the user comes back too (API.md §6 Gap).
    const rotated = await auth(appId, '/refresh', { body: { refresh_token: alice.refresh } });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, user: { id: alice.id, email: 'alice@example.com' } });
    expect(rotated.body.refresh_token).not.toBe(alice.refresh);
    expect((await auth(appId, '/me', { token: rotated.body.access_token })).body.id).toBe(alice.id);

    // Replaying the rotated token is refused and revokes the whole family, successor included.
    expectLegacyError(await auth(appId, '/refresh', { body: { refresh_token: alice.refresh } }), 401, 'Invalid refresh token', 'AUTH_INVALID_TOKEN');
    expectLegacyError(await auth(appId, '/refresh', { body: { refresh_token: rotated.body.refresh_token } }), 401, 'Invalid or expired refresh token', 'AUTH_INVALID_TOKEN');
    const reuse = await auditLogs(appId, `category=auth&event_type=refresh_token_reuse_detected&resource_id=${alice.id}`);
    expect(reuse[0]).toMatchObject({ resource_id: alice.id, success: false });

    // Other sessions are untouched.
    const bobRotated = await auth(appId, '/refresh', { body: { refresh_token: bob.refresh } });
    expect(bobRotated.status).toBe(200);

    // Logout revokes every refresh token of the user.
    const second = await login(appId, 'bob@example.com');
    const out = await auth(appId, '/logout', { token: bob.access, body: {} });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ message: 'Logged out successfully' });
    for (const token of [bobRotated.body.refresh_token, second.body.refresh_token]) {
      expectLegacyError(await auth(appId, '/refresh', { body: { refresh_token: token } }), 401, 'Invalid or expired refresh token', 'AUTH_INVALID_TOKEN');
    }
  });

  it('issues RS256 tokens with the documented claims that verify against the JWKS', async () => {
    const appId = jwtApp;
    const session = await signedIn(appId, 'carol@example.com');
    const jwksRes = await auth(appId, '/.well-known/jwks.json');
    expect(jwksRes.status).toBe(200);
    expect(jwksRes.headers.get('cache-control')).toBe('public, max-age=300');
    const header = decodeProtectedHeader(session.access_token);
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(jwksRes.body.keys).toEqual([expect.objectContaining({ kty: 'RSA', kid: header.kid, alg: 'RS256', use: 'sig' })]);
    expect(jwksRes.body.keys[0]).not.toHaveProperty('d');

    const { payload } = await jwtVerify(session.access_token, createLocalJWKSet(jwksRes.body as JSONWebKeySet), {
      issuer: `butterbase:app:${appId}`, algorithms: ['RS256'],
    });
    expect(payload).toEqual({
      sub: session.user.id, email: 'carol@example.com', email_verified: false, app_id: appId,
      iss: `butterbase:app:${appId}`, iat: expect.any(Number), exp: expect.any(Number),
    });
    expect(payload.exp! - payload.iat!).toBe(session.expires_in);

    // The app's jwt_config decides the lifetime of new tokens.
    const ttl = await api(`/v1/${appId}/config/jwt`, { method: 'PATCH', body: { accessTokenTtl: '15m' } });
    expect(ttl.status).toBe(200);
    const shorter = await login(appId, 'carol@example.com');
    expect(shorter.body.expires_in).toBe(900);
    const claims = decodeJwt(shorter.body.access_token);
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  it('rotating the signing key keeps old tokens valid until they expire and publishes both keys', async () => {
    const { appId } = await createReadyApp('auth-keys');
    const before = await signedIn(appId, 'dave@example.com');
    const oldKid = decodeProtectedHeader(before.access_token).kid;

    const forbidden = await api(`/v1/${appId}/auth/keys/rotate`, { method: 'POST', token: before.access_token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('AUTH_INSUFFICIENT_PERMISSIONS');

    const rotated = await api(`/v1/${appId}/auth/keys/rotate`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ app_id: appId, kid: expect.any(String), retired_kids: [oldKid] });
    expect(rotated.body.kid).not.toBe(oldKid);

    expect((await auth(appId, '/me', { token: before.access_token })).status).toBe(200);
    const after = await login(appId, 'dave@example.com');
    expect(decodeProtectedHeader(after.body.access_token).kid).toBe(rotated.body.kid);
    expect((await auth(appId, '/me', { token: after.body.access_token })).status).toBe(200);
    // A refresh token from before the rotation still works and yields a token from the new key.
    const refreshed = await auth(appId, '/refresh', { body: { refresh_token: before.refresh_token } });
    expect(decodeProtectedHeader(refreshed.body.access_token).kid).toBe(rotated.body.kid);

    const jwksRes = await auth(appId, '/.well-known/jwks.json');
    expect(jwksRes.body.keys.map((k: any) => k.kid).sort()).toEqual([oldKid, rotated.body.kid].sort());
    const set = createLocalJWKSet(jwksRes.body as JSONWebKeySet);
    for (const token of [before.access_token, after.body.access_token]) {
      await expect(jwtVerify(token, set, { issuer: `butterbase:app:${appId}` })).resolves.toBeDefined();
    }
    const audit = await auditLogs(appId, 'event_type=signing_key_rotated');
    expect(audit[0]).toMatchObject({ category: 'admin', actor_type: 'service_key', resource_id: rotated.body.kid });
  });

  it('a retired key verifies only tokens issued before it was retired', async () => {
    const appId = shared;
    const session = await signedIn(appId, 'dora@example.com');
    // Test setup: a key of this app that was retired an hour ago, whose private half we hold
    // (as someone who stole it would).
    const pair = await generateKeyPair('RS256', { extractable: true });
    const kid = `retired-${crypto.randomUUID()}`;
    await controlDb().query(
      `INSERT INTO app_signing_keys (kid, app_id, public_jwk, private_jwk_sealed, created_at, retired_at)
       VALUES ($1, $2, $3::jsonb, 'not-used', now() - interval '2 hours', now() - interval '1 hour')`,
      [kid, appId, JSON.stringify({ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256' })],
    );
    const nowSeconds = Math.floor(Date.now() / 1000);
    const sign = (iat: number) => new SignJWT({ email: 'dora@example.com', email_verified: false, app_id: appId })
      .setProtectedHeader({ alg: 'RS256', kid }).setSubject(session.user.id).setIssuer(`butterbase:app:${appId}`)
      .setIssuedAt(iat).setExpirationTime(nowSeconds + 600).sign(pair.privateKey);
    expect((await auth(appId, '/me', { token: await sign(nowSeconds - 90 * 60) })).status).toBe(200);
    expectLegacyError(await auth(appId, '/me', { token: await sign(nowSeconds) }), 401, 'Invalid token', 'AUTH_INVALID_END_USER_JWT');
  });

  it('end-user tokens open /auth/{app}/me but not owner routes, and only for their own app', async () => {
    const appId = shared;
    const other = { appId: jwtApp };
    const session = await signedIn(appId, 'erin@example.com');
    const cases: { name: string; path: string; method?: string; status: number; code: string }[] = [
      { name: 'app config', path: `/v1/${appId}/config`, status: 403, code: 'AUTH_INSUFFICIENT_PERMISSIONS' },
      { name: 'admin users', path: `/v1/${appId}/admin/auth/users`, status: 403, code: 'AUTH_INSUFFICIENT_PERMISSIONS' },
      { name: 'auth config', path: `/v1/${appId}/auth/config`, status: 403, code: 'AUTH_INSUFFICIENT_PERMISSIONS' },
      { name: 'dev outbox', path: `/v1/${appId}/auth/dev/outbox`, status: 403, code: 'AUTH_INSUFFICIENT_PERMISSIONS' },
      { name: "another app's /me", path: `/auth/${other.appId}/me`, status: 401, code: 'AUTH_INVALID_END_USER_JWT' },
    ];
    for (const c of cases) {
      const res = await api(c.path, { method: c.method, token: session.access_token });
      expect(res.status, c.name).toBe(c.status);
      expect(res.body.error?.code ?? res.body.code, c.name).toBe(c.code);
    }
    expect((await auth(appId, '/me', { token: session.access_token })).status).toBe(200);
  });
});

describe('email verification setting', () => {
  it('requireEmailVerification (default off) makes login wait for verification', async () => {
    const { appId } = await createReadyApp('auth-verify');
    const initial = await api(`/v1/${appId}/auth/config`);
    expect(initial.body).toEqual({
      app_id: appId, auth_config: { requireEmailVerification: false }, jwt_config: { accessTokenTtl: '1h', refreshTokenTtlDays: 7 },
    });
    const bad = await api(`/v1/${appId}/auth/config`, { method: 'PATCH', body: { requireEmailVerification: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_INVALID_TYPE');
    const unknown = await api(`/v1/${appId}/auth/config`, { method: 'PATCH', body: { requireEmailVerification: true, extra: 1 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('VALIDATION_INVALID_SCHEMA');
    expect((await api(`/v1/${appId}/auth/config`)).body.auth_config.requireEmailVerification).toBe(false);

    const on = await api(`/v1/${appId}/auth/config`, { method: 'PATCH', body: { requireEmailVerification: true } });
    expect(on.status).toBe(200);
    expect(on.body.auth_config).toEqual({ requireEmailVerification: true });

    await signUp(appId, 'frank@example.com');
    expectLegacyError(await login(appId, 'frank@example.com'), 403, 'Email not verified', 'AUTH_INSUFFICIENT_PERMISSIONS');
    // A wrong password still says only "Invalid credentials".
    expectLegacyError(await login(appId, 'frank@example.com', 'Wr0ng-pass'), 401, 'Invalid credentials', 'AUTH_INVALID_TOKEN');
    const code = await latestCode(appId, 'frank@example.com', 'verify_email');
    expect((await auth(appId, '/verify-email', { body: { email: 'frank@example.com', code } })).status).toBe(200);
    expect((await login(appId, 'frank@example.com')).status).toBe(200);

    const audit = await auditLogs(appId, 'event_type=config.auth_updated');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ category: 'admin', actor_type: 'service_key', event_data: { change: { requireEmailVerification: true } } });
  });
});

describe('magic link', () => {
  it("clears a password and sessions set up on an unverified account before its owner proves the inbox", async () => {
    const appId = shared;
    const email = 'victim@example.com';
    // Someone else signs up with this address and keeps a session (login works before verification).
    const squatter = await signedIn(appId, email);
    // The real owner signs in with a magic link: the first proof of inbox ownership.
    await auth(appId, '/magic-link', { body: { email } });
    const owner = await auth(appId, '/magic-link/verify', { body: { email, code: await latestCode(appId, email, 'magic_link') } });
    expect(owner.status, owner.text).toBe(200);
    expect(owner.body.user.email_verified).toBe(true);
    expectLegacyError(await login(appId, email), 401, 'Invalid credentials', 'AUTH_INVALID_TOKEN');
    expect((await auth(appId, '/refresh', { body: { refresh_token: squatter.refresh_token } })).status).toBe(401);
    expect((await auth(appId, '/refresh', { body: { refresh_token: owner.body.refresh_token } })).status).toBe(200);
  });

  it('keeps the password of an account that was already verified', async () => {
    const appId = shared;
    const email = 'kept@example.com';
    await signUp(appId, email);
    await auth(appId, '/verify-email', { body: { email, code: await latestCode(appId, email, 'verify_email') } });
    await auth(appId, '/magic-link', { body: { email } });
    expect((await auth(appId, '/magic-link/verify', { body: { email, code: await latestCode(appId, email, 'magic_link') } })).status).toBe(200);
    expect((await login(appId, email)).status).toBe(200);
  });

  it('creates the user on first use, signs in with the code once, and verifies the email', async () => {
    const appId = shared;
    const email = 'grace@example.com';
    const sent = await auth(appId, '/magic-link', { body: { email } });
    expect(sent.status).toBe(200);
    const code = await latestCode(appId, email, 'magic_link');
    const session = await auth(appId, '/magic-link/verify', { body: { email, code } });
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ token_type: 'Bearer', user: { email, email_verified: true, display_name: null, avatar_url: null } });
    const me = await auth(appId, '/me', { token: session.body.access_token });
    expect(me.body).toMatchObject({ email, email_verified: true, provider: 'magic_link' });
    expectLegacyError(await auth(appId, '/magic-link/verify', { body: { email, code } }), 400, 'Sign-in code already used', 'VALIDATION_INVALID_INPUT');

    // Same answer for an existing password user; a newer code supersedes the older one.
    await signUp(appId, 'heidi@example.com');
    const first = await auth(appId, '/magic-link', { body: { email: 'heidi@example.com' } });
    expect(first.body).toEqual(sent.body);
    const firstCode = await latestCode(appId, 'heidi@example.com', 'magic_link');
    const [firstId] = await outboxIds(appId, 'heidi@example.com');
    await auth(appId, '/magic-link', { body: { email: 'heidi@example.com' } });
    const secondCode = await latestCode(appId, 'heidi@example.com', 'magic_link', firstId);
    if (firstCode !== secondCode) {
      expectLegacyError(await auth(appId, '/magic-link/verify', { body: { email: 'heidi@example.com', code: firstCode } }), 400, 'Invalid sign-in code', 'VALIDATION_INVALID_INPUT');
    }
    const heidi = await auth(appId, '/magic-link/verify', { body: { email: 'heidi@example.com', code: secondCode } });
    expect(heidi.status).toBe(200);
    expect(heidi.body.user.email_verified).toBe(true);

    for (const user of [session.body.user, heidi.body.user]) {
      const audit = await auditLogs(appId, `category=auth&event_type=magic_link_login&resource_id=${user.id}`);
      expect(audit[0]).toMatchObject({ actor_type: 'end_user', actor_id: user.id, event_data: { email: user.email } });
    }
  });
});

describe('forgot and reset password', () => {
  const shapes = [
    { name: 'wire fields { email, code, new_password }', secret: 'code', body: (email: string, code: string, pw: string) => ({ email, code, new_password: pw }) },
    { name: 'SDK fields { token, newPassword } with the reset token', secret: 'token', body: (_email: string, token: string, pw: string) => ({ token, newPassword: pw }) },
  ] as const;
  for (const [index, shape] of shapes.entries()) {
    it(`resets with the ${shape.name}, ends every session, and the code works once`, async () => {
      const appId = shared;
      const email = `ivan-${index}@example.com`;
      const session = await signedIn(appId, email);
      const forgot = await auth(appId, '/forgot-password', { body: { email } });
      expect(forgot.status).toBe(200);
      const unknown = await auth(appId, '/forgot-password', { body: { email: 'nobody@example.com' } });
      expect(unknown.body).toEqual(forgot.body);

      const code = shape.secret === 'code' ? await latestCode(appId, email, 'password_reset') : await latestResetToken(appId, email);
      const newPassword = 'N3w-Passw0rd';
      const reset = await auth(appId, '/reset-password', { body: shape.body(email, code, newPassword) });
      expect(reset.status, reset.text).toBe(200);
      expect(reset.body).toEqual({ message: 'Password reset successfully' });

      expectLegacyError(await login(appId, email), 401, 'Invalid credentials', 'AUTH_INVALID_TOKEN');
      expect((await login(appId, email, newPassword)).status).toBe(200);
      expectLegacyError(await auth(appId, '/refresh', { body: { refresh_token: session.refresh_token } }), 401, 'Invalid or expired refresh token', 'AUTH_INVALID_TOKEN');
      expectLegacyError(await auth(appId, '/reset-password', { body: shape.body(email, code, 'An0ther-pass') }), 400, 'Reset code already used', 'VALIDATION_INVALID_INPUT');
      expect(await outboxIds(appId, 'nobody@example.com')).toEqual([]);
    });
  }

  it('never accepts a 6-digit code without an email (guessable across users), and using one secret revokes the other', async () => {
    const appId = shared;
    const email = 'ivan-sdk@example.com';
    await signedIn(appId, email);
    await auth(appId, '/forgot-password', { body: { email } });
    const code = await latestCode(appId, email, 'password_reset');
    const token = await latestResetToken(appId, email);
    expect(token).toMatch(/^[A-Za-z0-9]{40}$/);
    const guess = await auth(appId, '/reset-password', { body: { token: code, newPassword: 'N3w-Passw0rd' } });
    expectLegacyError(guess, 400, 'Invalid reset code', 'VALIDATION_INVALID_INPUT');
    expect((await auth(appId, '/reset-password', { body: { email, code, new_password: 'N3w-Passw0rd' } })).status).toBe(200);
    expectLegacyError(await auth(appId, '/reset-password', { body: { token, newPassword: 'An0ther-pass' } }), 400, 'Invalid reset code', 'VALIDATION_INVALID_INPUT');
    expect((await login(appId, email, 'N3w-Passw0rd')).status).toBe(200);
  });
});

describe('error paths (API.md §6)', () => {
  it('answers every documented failure with its status, error string and code', async () => {
    const appId = shared;
    await signUp(appId, 'judy@example.com');
    const session = (await login(appId, 'judy@example.com')).body;
    await auth(appId, '/forgot-password', { body: { email: 'judy@example.com' } });
    const resetCode = await latestCode(appId, 'judy@example.com', 'password_reset');
    const verifyCode = await latestCode(appId, 'judy@example.com', 'verify_email');
    const wrong = (code: string) => (code === '000000' ? '000001' : '000000');
    const policy = 'Password does not meet requirements. Must be at least 8 characters and include: uppercase letter, lowercase letter, number, and special character.';
    const cases: { name: string; path: string; method?: string; body?: unknown; token?: string; status: number; error: string; code: string }[] = [
      { name: 'signup: bad email', path: '/signup', body: { email: 'not-an-email', password }, status: 400, error: 'Invalid request body', code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'signup: missing password', path: '/signup', body: { email: 'x@example.com' }, status: 400, error: 'Invalid request body', code: 'VALIDATION_MISSING_FIELD' },
      { name: 'signup: password under 8', path: '/signup', body: { email: 'x@example.com', password: 'Ab1!' }, status: 400, error: 'Invalid request body', code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'signup: password policy', path: '/signup', body: { email: 'x@example.com', password: 'alllowercase' }, status: 400, error: policy, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'signup: taken (any case)', path: '/signup', body: { email: 'JUDY@example.com', password }, status: 409, error: 'User already exists', code: 'RESOURCE_ALREADY_EXISTS' },
      { name: 'signup: malformed JSON', path: '/signup', body: '{"email":', status: 400, error: 'Invalid request body', code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'login: wrong password', path: '/login', body: { email: 'judy@example.com', password: 'Wr0ng-pass' }, status: 401, error: 'Invalid credentials', code: 'AUTH_INVALID_TOKEN' },
      { name: 'login: unknown email', path: '/login', body: { email: 'nobody@example.com', password }, status: 401, error: 'Invalid credentials', code: 'AUTH_INVALID_TOKEN' },
      { name: 'login: missing fields', path: '/login', body: {}, status: 400, error: 'Invalid request body', code: 'VALIDATION_MISSING_FIELD' },
      { name: 'refresh: unknown token', path: '/refresh', body: { refresh_token: 'x'.repeat(43) }, status: 401, error: 'Invalid or expired refresh token', code: 'AUTH_INVALID_TOKEN' },
      { name: 'refresh: missing token', path: '/refresh', body: {}, status: 400, error: 'Invalid request body', code: 'VALIDATION_MISSING_FIELD' },
      { name: 'logout: no bearer', path: '/logout', body: {}, status: 401, error: 'Missing or invalid Authorization header', code: 'AUTH_REQUIRED' },
      { name: 'logout: foreign JWT', path: '/logout', body: {}, token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln', status: 401, error: 'Invalid token', code: 'AUTH_INVALID_TOKEN' },
      { name: 'me: no bearer', path: '/me', status: 401, error: 'Missing or invalid Authorization header', code: 'AUTH_REQUIRED' },
      { name: 'me: tampered token', path: '/me', token: `${session.access_token.slice(0, -4)}AAAA`, status: 401, error: 'Invalid token', code: 'AUTH_INVALID_END_USER_JWT' },
      { name: 'me: service key', path: '/me', token: 'service-key', status: 401, error: 'Invalid token', code: 'AUTH_INVALID_END_USER_JWT' },
      { name: 'magic-link: bad email', path: '/magic-link', body: { email: 'nope' }, status: 400, error: 'Invalid request body', code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'magic-link/verify: wrong code', path: '/magic-link/verify', body: { email: 'judy@example.com', code: '123456' }, status: 400, error: 'Invalid sign-in code', code: 'VALIDATION_INVALID_INPUT' },
      { name: 'magic-link/verify: code not 6 chars', path: '/magic-link/verify', body: { email: 'judy@example.com', code: '12345' }, status: 400, error: 'Invalid request body', code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'verify-email: wrong code', path: '/verify-email', body: { email: 'judy@example.com', code: wrong(verifyCode) }, status: 400, error: 'Invalid verification code', code: 'VALIDATION_INVALID_INPUT' },
      { name: 'verify-email: unknown user', path: '/verify-email', body: { email: 'nobody@example.com', code: verifyCode }, status: 400, error: 'Invalid verification code', code: 'VALIDATION_INVALID_INPUT' },
      { name: 'reset-password: wrong code', path: '/reset-password', body: { email: 'judy@example.com', code: wrong(resetCode), new_password: 'N3w-Passw0rd' }, status: 400, error: 'Invalid reset code', code: 'VALIDATION_INVALID_INPUT' },
      { name: 'reset-password: policy', path: '/reset-password', body: { email: 'judy@example.com', code: resetCode, new_password: 'longbutweak' }, status: 400, error: policy, code: 'VALIDATION_INVALID_SCHEMA' },
      { name: 'reset-password: no code', path: '/reset-password', body: { email: 'judy@example.com', new_password: 'N3w-Passw0rd' }, status: 400, error: 'Invalid request body', code: 'VALIDATION_MISSING_FIELD' },
      { name: 'oauth: redirect_to outside allowed_origins', path: '/oauth/google?redirect_to=https://x.example', status: 400, error: 'redirect_to origin is not allowed', code: 'VALIDATION_INVALID_INPUT' },
      { name: 'oauth: provider not configured', path: '/oauth/google', status: 404, error: 'OAuth provider "google" is not configured for this app.', code: 'RESOURCE_NOT_FOUND' },
      { name: 'unknown auth route', path: '/nope', status: 404, error: 'Not found', code: 'RESOURCE_NOT_FOUND' },
    ];
    for (const c of cases) {
      const res = await api(`/auth/${appId}${c.path}`, {
        method: c.method ?? (c.body === undefined ? 'GET' : 'POST'),
        body: c.body,
        token: c.token === 'service-key' ? undefined : c.token ?? null,
        headers: { 'cf-connecting-ip': freshIp() },
      });
      expect({ status: res.status, error: res.body?.error, code: res.body?.code }, c.name).toEqual({ status: c.status, error: c.error, code: c.code });
      if (c.status === 400 && c.error === 'Invalid request body') expect(res.body.details, c.name).toEqual(expect.any(Array));
    }
    // The policy answer lists the rules that failed.
    const weak = await auth(appId, '/signup', { body: { email: 'weak@example.com', password: 'alllowercase' } });
    expect(weak.body.details).toEqual([
      'Password must contain at least one uppercase letter',
      'Password must contain at least one number',
      'Password must contain at least one special character',
    ]);
    // The reset code survived the refused attempts above (a wrong code is one attempt, not a burn).
    expect((await auth(appId, '/reset-password', { body: { email: 'judy@example.com', code: resetCode, new_password: 'N3w-Passw0rd' } })).status).toBe(200);
  });

  it('answers unknown apps with 404 App not found on every /auth route', async () => {
    for (const [method, path] of [['POST', '/signup'], ['POST', '/login'], ['GET', '/me'], ['GET', '/.well-known/jwks.json'], ['POST', '/magic-link']] as const) {
      const res = await api(`/auth/app_000000000000${path}`, { method, token: null, body: method === 'POST' ? { email: 'a@example.com', password } : undefined });
      expect({ status: res.status, error: res.body.error, code: res.body.code }, path).toEqual({ status: 404, error: 'App not found', code: 'APP_NOT_FOUND' });
    }
  });

  it('refuses expired codes and refresh tokens with their own messages', async () => {
    const appId = shared;
    const email = 'ken@example.com';
    const session = await signedIn(appId, email);
    await auth(appId, '/magic-link', { body: { email } });
    await auth(appId, '/forgot-password', { body: { email } });
    const codes = {
      verify: await latestCode(appId, email, 'verify_email'),
      magic: await latestCode(appId, email, 'magic_link'),
      reset: await latestCode(appId, email, 'password_reset'),
    };
    // Move the clock of these rows instead of waiting 15 min to 24 h.
    const db = appDb(appId);
    await db.query(`UPDATE auth.one_time_codes SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [session.user.id]);
    await db.query(`UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [session.user.id]);
    const cases = [
      { path: '/verify-email', body: { email, code: codes.verify }, error: 'Verification code expired' },
      { path: '/magic-link/verify', body: { email, code: codes.magic }, error: 'Sign-in code expired' },
      { path: '/reset-password', body: { email, code: codes.reset, new_password: 'N3w-Passw0rd' }, error: 'Reset code expired' },
    ];
    for (const c of cases) expectLegacyError(await auth(appId, c.path, { body: c.body }), 400, c.error, 'VALIDATION_INVALID_INPUT');
    expectLegacyError(await auth(appId, '/refresh', { body: { refresh_token: session.refresh_token } }), 401, 'Invalid or expired refresh token', 'AUTH_INVALID_TOKEN');
  });

  it('stops accepting a code after five wrong guesses', async () => {
    const appId = shared;
    const email = 'leo@example.com';
    await signUp(appId, email);
    const code = await latestCode(appId, email, 'verify_email');
    const wrongCodes = ['000000', '111111', '222222', '333333', '444444', '555555'].filter((c) => c !== code).slice(0, 5);
    for (const wrongCode of wrongCodes) {
      expectLegacyError(await auth(appId, '/verify-email', { body: { email, code: wrongCode } }), 400, 'Invalid verification code', 'VALIDATION_INVALID_INPUT');
    }
    expectLegacyError(await auth(appId, '/verify-email', { body: { email, code } }), 400, 'Invalid verification code', 'VALIDATION_INVALID_INPUT');
    // A fresh code (the magic link also verifies) still works.
    await auth(appId, '/magic-link', { body: { email } });
    const magic = await latestCode(appId, email, 'magic_link');
    expect((await auth(appId, '/magic-link/verify', { body: { email, code: magic } })).body.user.email_verified).toBe(true);
  });
});

describe('per-IP rate limits (API.md §6)', () => {
  const limits = [
    ['/signup', 5], ['/login', 10], ['/refresh', 20], ['/magic-link', 5], ['/magic-link/verify', 10],
    ['/verify-email', 10], ['/forgot-password', 3], ['/reset-password', 5],
  ] as const;

  it('allows each route its budget per IP per 15 minutes, then answers 429 with Retry-After', async () => {
    const appId = shared;
    for (const [path, limit] of limits) {
      const ip = freshIp();
      // Empty bodies: refused as invalid, but every request counts.
      for (let i = 0; i < limit; i++) {
        const res = await auth(appId, path, { body: {}, ip });
        expect(res.status, `${path} #${i + 1}`).toBe(400);
      }
      const over = await auth(appId, path, { body: {}, ip });
      expect(over.status, path).toBe(429);
      expect(over.body).toMatchObject({ error: 'Too many requests, please try again later.', code: 'QUOTA_RATE_LIMIT', details: { limit, window_seconds: 900 } });
      const retryAfter = Number(over.headers.get('retry-after'));
      expect(retryAfter, path).toBeGreaterThan(0);
      expect(retryAfter, path).toBeLessThanOrEqual(900);
      // Another client IP has its own budget.
      expect((await auth(appId, path, { body: {}, ip: freshIp() })).status, path).toBe(400);
    }
  });

  it('counts an IPv6 client by its /56, so rotating addresses inside it gains nothing', async () => {
    const appId = shared;
    const prefix = `2001:db8:${(ipCounter += 1).toString(16)}`;
    for (let i = 0; i < 3; i++) {
      expect((await auth(appId, '/forgot-password', { body: {}, ip: `${prefix}:12${i}0::${i + 1}` })).status).toBe(400);
    }
    expect((await auth(appId, '/forgot-password', { body: {}, ip: `${prefix}:12ff:ffff::7` })).status).toBe(429);
    expect((await auth(appId, '/forgot-password', { body: {}, ip: `${prefix}:1300::7` })).status).toBe(400);
  });
});

describe('end-user admin', () => {
  it('lists users newest first with a cursor, deletes one with everything it owns, and audits it', async () => {
    const { appId } = await createReadyApp('auth-admin');
    const emails = ['mia@example.com', 'nick@example.com', 'olga@example.com'];
    const sessions = [];
    for (const email of emails) sessions.push(await signedIn(appId, email));

    const first = await api(`/v1/${appId}/admin/auth/users?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.users.map((u: any) => u.email)).toEqual(['olga@example.com', 'nick@example.com']);
    expect(first.body.users[0]).toEqual({
      id: sessions[2]!.user.id, email: 'olga@example.com', provider: 'email', provider_uid: null, email_verified: false,
      last_sign_in_at: expect.any(String), created_at: expect.any(String),
    });
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await api(`/v1/${appId}/admin/auth/users?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.users.map((u: any) => u.email)).toEqual(['mia@example.com']);
    expect(second.body.next_cursor).toBeNull();

    const bad: { query: string; code: string }[] = [
      { query: 'cursor=garbage', code: 'VALIDATION_INVALID_TYPE' },
      { query: 'limit=0', code: 'VALIDATION_INVALID_SCHEMA' },
      { query: 'limit=201', code: 'VALIDATION_INVALID_SCHEMA' },
      { query: 'colour=red', code: 'VALIDATION_INVALID_SCHEMA' },
    ];
    for (const b of bad) {
      const res = await api(`/v1/${appId}/admin/auth/users?${b.query}`);
      expect({ status: res.status, code: res.body.error?.code }, b.query).toEqual({ status: 400, code: b.code });
    }

    const nick = sessions[1]!;
    const deleted = await api(`/v1/${appId}/admin/auth/users/${nick.user.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ deleted: true, user_id: nick.user.id, email: 'nick@example.com' });
    expectLegacyError(await auth(appId, '/refresh', { body: { refresh_token: nick.refresh_token } }), 401, 'Invalid or expired refresh token', 'AUTH_INVALID_TOKEN');
    expectLegacyError(await auth(appId, '/me', { token: nick.access_token }), 404, 'User not found', 'RESOURCE_NOT_FOUND');
    expectLegacyError(await login(appId, 'nick@example.com'), 401, 'Invalid credentials', 'AUTH_INVALID_TOKEN');
    const remaining = await api(`/v1/${appId}/admin/auth/users`);
    expect(remaining.body.users.map((u: any) => u.email)).toEqual(['olga@example.com', 'mia@example.com']);

    for (const [path, code] of [[nick.user.id, 'RESOURCE_NOT_FOUND'], ['not-a-uuid', 'RESOURCE_NOT_FOUND']] as const) {
      const res = await api(`/v1/${appId}/admin/auth/users/${path}`, { method: 'DELETE' });
      expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 404, code });
    }
    const anonymous = await api(`/v1/${appId}/admin/auth/users`, { token: null });
    expect({ status: anonymous.status, code: anonymous.body.error.code }).toEqual({ status: 401, code: 'AUTH_REQUIRED' });

    const audit = await auditLogs(appId, 'category=auth&event_type=user_deleted');
    expect(audit[0]).toMatchObject({ action: 'delete', actor_type: 'service_key', resource_type: 'app_user', resource_id: nick.user.id, event_data: { email: 'nick@example.com' } });
  });
});

describe('audit trail and isolation', () => {
  it('records sign-ins and failures with the end user, IP and user agent, filterable by event type', async () => {
    const appId = shared;
    const ip = freshIp();
    const session = await signedIn(appId, 'pat@example.com');
    await login(appId, 'pat@example.com', 'Wr0ng-pass', ip);
    await login(appId, 'pat@example.com', password, ip);

    const logins = await auditLogs(appId, `category=auth&event_type=login&user_id=${session.user.id}`, 2);
    expect(logins.every((l) => l.event_type === 'login' && l.category === 'auth')).toBe(true);
    expect(logins[0]).toMatchObject({
      app_id: appId, action: 'login', actor_type: 'end_user', actor_id: session.user.id, resource_type: 'app_user',
      resource_id: session.user.id, ip_address: ip, success: true, user_agent: expect.any(String),
    });
    const failed = await auditLogs(appId, `category=auth&event_type=login_failed&resource_id=${session.user.id}`);
    expect(failed[0]).toMatchObject({ actor_type: 'anonymous', actor_id: null, success: false, ip_address: ip, event_data: { reason: 'invalid_password' } });
    const byUser = await auditLogs(appId, `category=auth&user_id=${session.user.id}`, 3);
    expect(byUser.map((l) => l.event_type)).toEqual(expect.arrayContaining(['signup', 'login']));
  });

  it('keeps the auth schema out of reach of the anon, user and service roles', async () => {
    const appId = shared;
    await signUp(appId, 'quinn@example.com');
    const db = appDb(appId);
    for (const role of ['butterbase_anon', 'butterbase_user', 'butterbase_service']) {
      await expect(db.transaction([db.query(`SET LOCAL ROLE ${role}`), db.query('SELECT email FROM auth.users')]), role)
        .rejects.toThrow(/permission denied for schema auth/);
    }
    const [row] = await db.query('SELECT password_hash FROM auth.users WHERE email = $1', ['quinn@example.com']);
    expect(row!.password_hash).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$/);
  });
});
