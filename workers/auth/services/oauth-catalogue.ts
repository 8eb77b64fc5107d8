/**
 * The eight built-in OAuth providers (API.md §6 "Built-in providers"): endpoints, default scopes, how
 * the client authenticates at the token endpoint, whether PKCE and OIDC apply, and the issuer whose
 * ID tokens are verified. Any other provider name is custom and brings its own endpoints.
 *
 * Sources: Google "OpenID Connect" (developers.google.com/identity/openid-connect), GitHub "Authorizing
 * OAuth apps", Discord "OAuth2", Facebook Login "Manually build a login flow", LinkedIn "Sign In with
 * LinkedIn using OpenID Connect", Microsoft identity platform "OpenID Connect on the Microsoft identity
 * platform" (tenant `common`), Apple "Sign in with Apple REST API", X "OAuth 2.0 Authorization Code Flow
 * with PKCE".
 */

/** What the flow needs to know about a provider, built-in or custom. */
export interface ProviderSpec {
  authorizationUrl: string;
  tokenUrl: string;
  /** Profile endpoint (OIDC userinfo or the provider's own user API); null when the ID token says it all. */
  userinfoUrl: string | null;
  /** OIDC: the expected `iss` (Microsoft: the template with `{tenantid}`), or null for plain OAuth 2.0. */
  issuer: string | null;
  jwksUri: string | null;
  defaultScopes: string[];
  /** `client_secret_post` or `client_secret_basic` at the token endpoint. */
  clientAuth: 'post' | 'basic';
  /** Send S256 PKCE (X requires it; every built-in but LinkedIn accepts it). */
  pkce: boolean;
  /** Apple: the callback is a form POST (`response_mode=form_post`). */
  formPost: boolean;
}

export const builtInProviders = {
  google: {
    authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    userinfoUrl: null,
    issuer: 'https://accounts.google.com',
    jwksUri: 'https://www.googleapis.com/oauth2/v3/certs',
    defaultScopes: ['openid', 'email', 'profile'],
    clientAuth: 'post', pkce: true, formPost: false,
  },
  github: {
    authorizationUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    userinfoUrl: 'https://api.github.com/user',
    issuer: null, jwksUri: null,
    defaultScopes: ['user:email'],
    clientAuth: 'post', pkce: true, formPost: false,
  },
  discord: {
    authorizationUrl: 'https://discord.com/oauth2/authorize',
    tokenUrl: 'https://discord.com/api/oauth2/token',
    userinfoUrl: 'https://discord.com/api/users/@me',
    issuer: null, jwksUri: null,
    defaultScopes: ['identify', 'email'],
    clientAuth: 'post', pkce: true, formPost: false,
  },
  facebook: {
    authorizationUrl: 'https://www.facebook.com/v19.0/dialog/oauth',
    tokenUrl: 'https://graph.facebook.com/v19.0/oauth/access_token',
    userinfoUrl: 'https://graph.facebook.com/v19.0/me?fields=id,name,email,picture.type(large)',
    issuer: null, jwksUri: null,
    defaultScopes: ['email', 'public_profile'],
    clientAuth: 'post', pkce: true, formPost: false,
  },
  linkedin: {
    authorizationUrl: 'https://www.linkedin.com/oauth/v2/authorization',
    tokenUrl: 'https://www.linkedin.com/oauth/v2/accessToken',
    userinfoUrl: null,
    issuer: 'https://www.linkedin.com/oauth',
    jwksUri: 'https://www.linkedin.com/oauth/openid/jwks',
    defaultScopes: ['openid', 'profile', 'email'],
    clientAuth: 'post', pkce: false, formPost: false,
  },
  microsoft: {
    authorizationUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    userinfoUrl: null,
    issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
    jwksUri: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
    defaultScopes: ['openid', 'email', 'profile', 'User.Read'],
    clientAuth: 'post', pkce: true, formPost: false,
  },
  apple: {
    authorizationUrl: 'https://appleid.apple.com/auth/authorize',
    tokenUrl: 'https://appleid.apple.com/auth/token',
    userinfoUrl: null,
    issuer: 'https://appleid.apple.com',
    jwksUri: 'https://appleid.apple.com/auth/keys',
    defaultScopes: ['name', 'email'],
    clientAuth: 'post', pkce: true, formPost: true,
  },
  x: {
    authorizationUrl: 'https://x.com/i/oauth2/authorize',
    tokenUrl: 'https://api.x.com/2/oauth2/token',
    userinfoUrl: 'https://api.x.com/2/users/me?user.fields=profile_image_url',
    issuer: null, jwksUri: null,
    defaultScopes: ['tweet.read', 'users.read'],
    clientAuth: 'basic', pkce: true, formPost: false,
  },
} as const satisfies Record<string, ProviderSpec>;

export type BuiltInProvider = keyof typeof builtInProviders;

/** True for the eight built-in names. */
export function isBuiltIn(provider: string): provider is BuiltInProvider {
  return Object.hasOwn(builtInProviders, provider);
}

/**
 * The test base for built-in providers (`OAUTH_TEST_PROVIDER_BASE_URL`), honoured only on a loopback
 * host: a value left in a deployed config by mistake must not send sign-ins (and client secrets) to
 * some other server.
 */
export function testProviderBaseUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const host = new URL(value).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Rewrites a provider URL onto the test base (`OAUTH_TEST_PROVIDER_BASE_URL`, set only by local runs
 * and tests): `https://github.com/login/oauth/authorize` → `{base}/github/login/oauth/authorize`, so one
 * local mock can answer for every built-in provider. Issuers are not rewritten: the mock signs ID tokens
 * with the real `iss`, and verification stays exactly as in production.
 */
export function testRewrite(url: string, provider: string, testBaseUrl: string | undefined): string {
  if (!testBaseUrl) return url;
  const parsed = new URL(url);
  return `${testBaseUrl.replace(/\/+$/, '')}/${provider}${parsed.pathname}${parsed.search}`;
}

/** A built-in provider's spec, with URLs moved onto the test base when one is set. */
export function builtInSpec(provider: BuiltInProvider, testBaseUrl: string | undefined): ProviderSpec {
  const spec: ProviderSpec = builtInProviders[provider];
  const move = (url: string | null) => (url === null ? null : testRewrite(url, provider, testBaseUrl));
  return {
    ...spec,
    authorizationUrl: move(spec.authorizationUrl)!,
    tokenUrl: move(spec.tokenUrl)!,
    userinfoUrl: move(spec.userinfoUrl),
    jwksUri: move(spec.jwksUri),
  };
}
