/**
 * OAuth pieces that need no platform (API.md §6 "OAuth"): the redirect_to allow-list, the provider
 * catalogue and its test-only URL rewrite, the config body schemas, and how each provider's profile
 * answer becomes a user (which emails count as verified).
 */
import { describe, expect, it } from 'vitest';
import { builtInProviders, builtInSpec, isBuiltIn, testProviderBaseUrl, testRewrite } from '../workers/auth/services/oauth-catalogue.ts';
import { checkRedirectTo } from '../workers/auth/services/oauth-flow.ts';
import { appleProfile, profileFromClaims } from '../workers/auth/services/oauth-profiles.ts';
import { oauthConfigBody, oauthConfigPatch } from '../workers/shared/schemas/oauth.ts';
import { ApiError } from '../workers/shared/errors.ts';

describe('checkRedirectTo', () => {
  const allowed = ['https://app.example', 'http://localhost:5173/', '*'];
  const cases: { name: string; target: string; ok: boolean; message?: string }[] = [
    { name: 'a listed https origin, path and query kept', target: 'https://app.example/auth/callback?x=1', ok: true },
    { name: 'a listed origin written with a trailing slash', target: 'http://localhost:5173/cb', ok: true },
    { name: 'another origin (the * entry allows no redirects)', target: 'https://evil.example/cb', ok: false, message: 'redirect_to origin is not allowed' },
    { name: 'same host, other port', target: 'https://app.example:8443/cb', ok: false, message: 'redirect_to origin is not allowed' },
    { name: 'same host, other scheme', target: 'http://app.example/cb', ok: false, message: 'redirect_to origin is not allowed' },
    { name: 'a javascript: URL', target: 'javascript:alert(1)', ok: false, message: 'redirect_to origin is not allowed' },
    { name: 'userinfo trick', target: 'https://app.example@evil.example/cb', ok: false, message: 'redirect_to origin is not allowed' },
    { name: 'a relative path', target: '/cb', ok: false, message: 'redirect_to must be an absolute URL' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.ok) {
        expect(checkRedirectTo(allowed, c.target)).toBe(new URL(c.target).href);
      } else {
        let error: unknown;
        try {
          checkRedirectTo(allowed, c.target);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ApiError);
        expect({ code: (error as ApiError).code, message: (error as ApiError).message }).toEqual({ code: 'VALIDATION_INVALID_INPUT', message: c.message });
      }
    });
  }
});

describe('the built-in provider catalogue', () => {
  it('has the eight built-ins with https endpoints; OIDC ones have an issuer and JWKS; X requires PKCE', () => {
    expect(Object.keys(builtInProviders).sort()).toEqual(['apple', 'discord', 'facebook', 'github', 'google', 'linkedin', 'microsoft', 'x']);
    for (const [name, spec] of Object.entries(builtInProviders)) {
      for (const url of [spec.authorizationUrl, spec.tokenUrl, spec.userinfoUrl, spec.jwksUri]) if (url) expect(url, name).toMatch(/^https:\/\//);
      expect(spec.issuer === null, name).toBe(spec.jwksUri === null);
    }
    expect(builtInProviders.x.pkce).toBe(true);
    expect(builtInProviders.apple.formPost).toBe(true);
    expect(isBuiltIn('google')).toBe(true);
    expect(isBuiltIn('toString')).toBe(false);
  });

  it('moves URLs onto the test base only when one is set, keeping path and query; issuers stay real', () => {
    expect(testRewrite('https://api.x.com/2/users/me?user.fields=profile_image_url', 'x', undefined)).toBe('https://api.x.com/2/users/me?user.fields=profile_image_url');
    expect(testRewrite('https://api.x.com/2/users/me?user.fields=profile_image_url', 'x', 'http://127.0.0.1:9/')).toBe('http://127.0.0.1:9/x/2/users/me?user.fields=profile_image_url');
    expect(testProviderBaseUrl('http://127.0.0.1:9')).toBe('http://127.0.0.1:9');
    expect(testProviderBaseUrl('https://mock.evil.example')).toBeUndefined();
    expect(testProviderBaseUrl('nonsense')).toBeUndefined();
    const google = builtInSpec('google', 'http://127.0.0.1:9');
    expect(google.tokenUrl).toBe('http://127.0.0.1:9/google/token');
    expect(google.issuer).toBe('https://accounts.google.com');
  });
});

describe('config bodies', () => {
  const base = { provider: 'google', client_id: 'id', client_secret: 's', redirect_uris: ['https://api.example/auth/app_abcdefabcdef/oauth/google/callback'] };
  it('POST needs provider, client_id, client_secret and redirect_uris; unknown keys are refused', () => {
    expect(oauthConfigBody.safeParse(base).success).toBe(true);
    for (const field of ['provider', 'client_id', 'client_secret', 'redirect_uris'] as const) {
      const { [field]: _dropped, ...rest } = base;
      expect(oauthConfigBody.safeParse(rest).success, field).toBe(false);
    }
    expect(oauthConfigBody.safeParse({ ...base, colour: 'blue' }).success).toBe(false);
    expect(oauthConfigBody.safeParse({ ...base, provider: 'Google' }).success).toBe(false);
    expect(oauthConfigBody.safeParse({ ...base, scopes: ['openid email'] }).success).toBe(false);
    expect(oauthConfigBody.safeParse({ ...base, redirect_uris: ['ftp://x.example/cb'] }).success).toBe(false);
  });
  it('PATCH takes any field but the name, at least one', () => {
    expect(oauthConfigPatch.safeParse({ enabled: false }).success).toBe(true);
    expect(oauthConfigPatch.safeParse({}).success).toBe(false);
    expect(oauthConfigPatch.safeParse({ provider: 'x' }).success).toBe(false);
  });
});

describe('profiles from ID-token claims', () => {
  const cases: { name: string; provider: string; claims: Record<string, unknown>; email: string | null; verified: boolean; displayName: string | null }[] = [
    { name: 'google: verified, lowercased', provider: 'google', claims: { sub: '1', email: 'Ann@Example.com', email_verified: true, name: 'Ann' }, email: 'ann@example.com', verified: true, displayName: 'Ann' },
    { name: 'unverified flag', provider: 'linkedin', claims: { sub: '1', email: 'a@example.com', email_verified: false }, email: 'a@example.com', verified: false, displayName: null },
    { name: 'no flag at all', provider: 'myidp', claims: { sub: '1', email: 'a@example.com' }, email: 'a@example.com', verified: false, displayName: null },
    { name: 'Apple\'s string "true"', provider: 'apple', claims: { sub: '1', email: 'a@example.com', email_verified: 'true' }, email: 'a@example.com', verified: true, displayName: null },
    { name: 'microsoft: an email is not verified by itself', provider: 'microsoft', claims: { sub: '1', email: 'a@contoso.example', tid: 't' }, email: 'a@contoso.example', verified: false, displayName: null },
    { name: 'microsoft: xms_edov vouches for the domain', provider: 'microsoft', claims: { sub: '1', email: 'a@contoso.example', xms_edov: true }, email: 'a@contoso.example', verified: true, displayName: null },
    { name: 'a malformed email is no email', provider: 'google', claims: { sub: '1', email: 'not-an-email', email_verified: true }, email: null, verified: false, displayName: null },
    { name: 'given + family names', provider: 'google', claims: { sub: '1', given_name: 'Ada', family_name: 'Lovelace' }, email: null, verified: false, displayName: 'Ada Lovelace' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const profile = profileFromClaims(c.provider, c.claims);
      expect({ email: profile.email, verified: profile.emailVerified, name: profile.name }).toEqual({ email: c.email, verified: c.verified, name: c.displayName });
    });
  }

  it('apple: the name comes from the first-consent user field; a malformed field is ignored', () => {
    const claims = { sub: 'a1', email: 'x@privaterelay.appleid.com', email_verified: 'true' };
    expect(appleProfile(claims, JSON.stringify({ name: { firstName: 'Tim', lastName: 'Cook' } })).name).toBe('Tim Cook');
    expect(appleProfile(claims, '{not json').name).toBeNull();
    expect(appleProfile(claims, null).name).toBeNull();
  });
});
