/**
 * Who signed in, as each provider tells it (API.md §6 "Built-in providers"): verified ID-token claims
 * (Google, Microsoft, LinkedIn, Apple, custom OIDC) or the provider's user API (GitHub `/user` +
 * `/user/emails`, Discord `/users/@me`, Facebook `/me`, X `/2/users/me`, a custom `userinfo_url`).
 * Every answer read from a provider is checked with zod here.
 */
import type { JWTPayload } from 'jose';
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';

/** One provider identity, normalised. */
export interface ProviderProfile {
  uid: string;
  /** Lowercased; null when the provider gave none. */
  email: string | null;
  /** True only when the provider asserts the email is verified. */
  emailVerified: boolean;
  name: string | null;
  avatarUrl: string | null;
  /** The raw profile facts kept on the identity (no tokens). */
  raw: Record<string, unknown>;
}

/** 502 when a provider's user API fails or answers something unexpected. */
export function profileUnavailable(provider: string, internal: string): ApiError {
  return new ApiError('EXTERNAL_NETWORK_ERROR', `OAuth error: could not read the user profile from ${provider}`, {
    remediation: 'Retry the sign-in; if it keeps failing, check the scopes configured for the provider (GET /v1/{app_id}/auth/oauth-config/{provider}).',
    internal,
  });
}

/** Fetches a JSON user API with the access token (GitHub requires a User-Agent). */
export async function fetchProfileJson(provider: string, url: string, accessToken: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'user-agent': 'butterbase-auth' } });
  } catch (error) {
    throw profileUnavailable(provider, `${url}: ${String(error)}`);
  }
  if (!response.ok) throw profileUnavailable(provider, `${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  try {
    return await response.json();
  } catch {
    throw profileUnavailable(provider, `${url} answered non-JSON`);
  }
}

function parseOr<T>(schema: z.ZodType<T>, value: unknown, provider: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw profileUnavailable(provider, `unexpected profile shape: ${result.error.message.slice(0, 300)}`);
  return result.data;
}

const id = z.union([z.string().min(1), z.number().int()]).transform(String);
const optText = z.string().nullish().transform((v) => (v ? v : null));
/** `email_verified` as providers send it: a boolean, or Apple's "true"/"false" strings. */
const verifiedFlag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).nullish().transform((v) => v === true);

function email(value: string | null): string | null {
  const trimmed = value?.trim().toLowerCase();
  return trimmed && z.email().safeParse(trimmed).success ? trimmed : null;
}

const oidcClaims = z.object({
  sub: z.string().min(1),
  email: optText,
  email_verified: verifiedFlag,
  name: optText,
  given_name: optText,
  family_name: optText,
  picture: optText,
  preferred_username: optText,
  xms_edov: verifiedFlag,
}).loose();

/**
 * A profile from verified ID-token claims (optionally merged with userinfo claims of the same `sub`).
 * Microsoft's `email` is not verified unless the token says so (`email_verified` or `xms_edov`).
 */
export function profileFromClaims(provider: string, claims: JWTPayload, extra: Record<string, unknown> = {}): ProviderProfile {
  const c = parseOr(oidcClaims, { ...extra, ...claims, email: claims.email ?? extra.email, name: claims.name ?? extra.name, picture: claims.picture ?? extra.picture, email_verified: claims.email_verified ?? extra.email_verified }, provider);
  const name = c.name ?? ([c.given_name, c.family_name].filter(Boolean).join(' ') || null);
  const verified = provider === 'microsoft' ? c.email_verified || c.xms_edov : c.email_verified;
  return {
    uid: c.sub,
    email: email(c.email),
    emailVerified: verified && email(c.email) !== null,
    name,
    avatarUrl: c.picture,
    raw: { sub: c.sub, email: c.email, email_verified: verified, name, picture: c.picture },
  };
}

const appleUser = z.object({ name: z.object({ firstName: optText, lastName: optText }).partial().nullish(), email: optText }).loose();

/** Apple: ID-token claims, plus the name Apple posts (form field `user`, JSON) only on the first consent. */
export function appleProfile(claims: JWTPayload, userField: string | null): ProviderProfile {
  const profile = profileFromClaims('apple', claims);
  if (!userField) return profile;
  let parsed: z.infer<typeof appleUser> | null = null;
  try {
    const result = appleUser.safeParse(JSON.parse(userField));
    parsed = result.success ? result.data : null;
  } catch {
    parsed = null;
  }
  const name = [parsed?.name?.firstName, parsed?.name?.lastName].filter(Boolean).join(' ');
  return name ? { ...profile, name, raw: { ...profile.raw, name } } : profile;
}

const githubUser = z.object({ id, login: z.string(), name: optText, avatar_url: optText }).loose();
const githubEmails = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }).loose());

/** GitHub: `/user`, and the primary verified address from `/user/emails` (private emails included). */
export async function githubProfile(userUrl: string, accessToken: string): Promise<ProviderProfile> {
  const emailsUrl = `${userUrl.replace(/\/+$/, '')}/emails`;
  const [user, emails] = await Promise.all([
    fetchProfileJson('github', userUrl, accessToken).then((v) => parseOr(githubUser, v, 'github')),
    fetchProfileJson('github', emailsUrl, accessToken).then((v) => parseOr(githubEmails, v, 'github')),
  ]);
  const primary = emails.find((e) => e.primary && e.verified);
  return {
    uid: user.id,
    email: email(primary?.email ?? null),
    emailVerified: primary !== undefined,
    name: user.name ?? user.login,
    avatarUrl: user.avatar_url,
    raw: { id: user.id, login: user.login, name: user.name, avatar_url: user.avatar_url },
  };
}

const discordUser = z.object({ id, username: z.string(), global_name: optText, avatar: optText, email: optText, verified: verifiedFlag }).loose();

/** Discord: `/users/@me` (`verified` is the email's verification). */
export async function discordProfile(url: string, accessToken: string): Promise<ProviderProfile> {
  const u = parseOr(discordUser, await fetchProfileJson('discord', url, accessToken), 'discord');
  return {
    uid: u.id,
    email: email(u.email),
    emailVerified: u.verified && email(u.email) !== null,
    name: u.global_name ?? u.username,
    avatarUrl: u.avatar ? `https://cdn.discordapp.com/avatars/${u.id}/${u.avatar}.png` : null,
    raw: { id: u.id, username: u.username, global_name: u.global_name },
  };
}

const facebookUser = z.object({ id, name: optText, email: optText, picture: z.object({ data: z.object({ url: optText }).partial() }).partial().nullish() }).loose();

/** Facebook: `/me?fields=id,name,email,picture` (Facebook does not assert verification: never linked by email). */
export async function facebookProfile(url: string, accessToken: string): Promise<ProviderProfile> {
  const u = parseOr(facebookUser, await fetchProfileJson('facebook', url, accessToken), 'facebook');
  return { uid: u.id, email: email(u.email), emailVerified: false, name: u.name, avatarUrl: u.picture?.data?.url ?? null, raw: { id: u.id, name: u.name } };
}

const xUser = z.object({ data: z.object({ id, username: z.string().regex(/^[A-Za-z0-9_]{1,50}$/), name: optText, profile_image_url: optText }).loose() });

/** X: `/2/users/me`; X gives no email, so the address is `{username}@users.noreply.x.local` (unverified). */
export async function xProfile(url: string, accessToken: string): Promise<ProviderProfile> {
  const { data: u } = parseOr(xUser, await fetchProfileJson('x', url, accessToken), 'x');
  return {
    uid: u.id,
    email: `${u.username.toLowerCase()}@users.noreply.x.local`,
    emailVerified: false,
    name: u.name ?? u.username,
    avatarUrl: u.profile_image_url,
    raw: { id: u.id, username: u.username, name: u.name },
  };
}

const genericUser = z.object({
  sub: id.optional(), id: id.optional(), email: optText, email_verified: verifiedFlag,
  name: optText, login: optText, username: optText, preferred_username: optText, picture: optText, avatar_url: optText,
}).loose();

/** A custom provider's userinfo (OIDC claim names, or the common `id`/`login`/`avatar_url` ones). */
export async function genericProfile(provider: string, url: string, accessToken: string): Promise<ProviderProfile> {
  const u = parseOr(genericUser, await fetchProfileJson(provider, url, accessToken), provider);
  const uid = u.sub ?? u.id;
  if (!uid) throw profileUnavailable(provider, 'userinfo has neither "sub" nor "id"');
  return {
    uid,
    email: email(u.email),
    emailVerified: u.email_verified && email(u.email) !== null,
    name: u.name ?? u.preferred_username ?? u.login ?? u.username,
    avatarUrl: u.picture ?? u.avatar_url,
    raw: { sub: uid, email: u.email, email_verified: u.email_verified, name: u.name },
  };
}
