/**
 * Invocation session tokens: how user code running in a Workers for Platforms dispatch namespace
 * reaches its ctx capabilities (ctx.db, ctx.idempotency, ctx.invoke), and how a user Durable Object
 * class reaches `butterbase.ctx(req, env, state)`'s invoke and invokeDO (the hosting Worker mints a
 * token per request to an instance, with caller `do:{name}:{instance}`; workers/hosting/routes/durable-objects-edge.ts).
 *
 * Why a token: the Worker Loader lets the functions Worker hand each call a FunctionHost stub whose
 * props fix (app, role, user) — nothing to forge. A dispatch-namespace script cannot be given props per
 * call: its bindings are fixed at upload. So each uploaded version gets one service binding to this
 * Worker's `FunctionSession` entrypoint, and each call carries a short-lived token in a request header
 * that the entrypoint verifies before every method. The token is an HMAC-SHA256 (Web Crypto) over its
 * claims with a key derived (HKDF-SHA256) from the platform master key, so only the functions Worker
 * can mint one; it names one app, role, user, call depth and request, and expires shortly after the
 * function's own timeout plus the 30 s ctx.waitUntil window. User code never holds a credential that
 * outlives its call or works for another app.
 *
 * Wire form: `base64url(JSON claims) + "." + base64url(HMAC)` (like a JWS compact body without a header;
 * one fixed algorithm, so there is nothing to negotiate).
 */
import { z } from 'zod';
import { base64ToBytes, derivedHmacKey } from './crypto.ts';
import { ApiError } from './errors.ts';
import type { DbRole } from './contracts.ts';

/**
 * What one invocation's capabilities are fixed to: the FunctionHost entrypoint's props (Worker
 * Loader), or a session token's claims (Workers for Platforms; user Durable Object classes).
 */
export interface HostProps {
  appId: string;
  /** The function (for a Durable Object session: `do:{name}`), named in logs and egress records. */
  functionName: string;
  role: DbRole;
  userId: string | null;
  /** ctx.invoke / ctx.invokeDO nesting depth (0 for an outside call). */
  depth: number;
  requestId: string;
  /**
   * Who downstream calls say is calling (`x-butterbase-caller` on ctx.invokeDO): `do:{name}:{instance}`
   * for a Durable Object's session; absent for a function, which is `fn:{functionName}`.
   */
  caller?: string;
}

/** How long a token outlives the function's timeout: the ctx.waitUntil window (API.md §8.3) plus clock skew. */
export const sessionGraceMs = 35_000;

const claimsSchema = z.object({
  appId: z.string(),
  functionName: z.string(),
  role: z.enum(['user', 'service', 'anon']),
  userId: z.string().nullable(),
  depth: z.number().int().min(0),
  requestId: z.string(),
  caller: z.string().optional(),
  /** Expiry, ms since the epoch. */
  expMs: z.number(),
});

/** What a session token asserts: the FunctionHost props of one invocation, plus its expiry. */
export type SessionClaims = HostProps & { expMs: number };

const encoder = new TextEncoder();
/** The HMAC key of a master key (HKDF-SHA256, info "butterbase functions session v1"), cached per isolate. */
function sessionKey(masterKey: string): Promise<CryptoKey> {
  return derivedHmacKey(masterKey, 'butterbase functions session v1');
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return base64ToBytes(padded);
}

/**
 * Mints the token of one invocation. In: the invocation's host props, its lifetime (ms from now),
 * the platform master key (base64 of 32 bytes). Out: the compact token.
 */
export async function signSession(props: HostProps, ttlMs: number, masterKey: string, nowMs = Date.now()): Promise<string> {
  const claims: SessionClaims = { ...props, expMs: nowMs + ttlMs };
  const body = toBase64Url(encoder.encode(JSON.stringify(claims)));
  const mac = await crypto.subtle.sign('HMAC', await sessionKey(masterKey), encoder.encode(body));
  return `${body}.${toBase64Url(new Uint8Array(mac))}`;
}

function invalid(reason: string): ApiError {
  return new ApiError('AUTH_INVALID_TOKEN', `The function session is not valid: ${reason}.`, {
    remediation: 'ctx capabilities work only inside the invocation that received them; do not store or forge session tokens.',
  });
}

/**
 * Verifies a token (constant-time HMAC check by Web Crypto `verify`) and returns its claims.
 * @throws ApiError AUTH_INVALID_TOKEN (401) when it is malformed, its signature is wrong, or it expired.
 */
export async function verifySession(token: unknown, masterKey: string, nowMs = Date.now()): Promise<SessionClaims> {
  if (typeof token !== 'string' || token.length > 8192) throw invalid('missing');
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) throw invalid('malformed');
  let macBytes: Uint8Array;
  try {
    macBytes = fromBase64Url(mac);
  } catch {
    throw invalid('malformed');
  }
  const ok = await crypto.subtle.verify('HMAC', await sessionKey(masterKey), macBytes, encoder.encode(body));
  if (!ok) throw invalid('bad signature');
  let claims: SessionClaims;
  try {
    claims = claimsSchema.parse(JSON.parse(new TextDecoder().decode(fromBase64Url(body))));
  } catch {
    throw invalid('malformed claims');
  }
  if (claims.expMs <= nowMs) throw invalid('expired');
  return claims;
}
