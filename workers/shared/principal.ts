/**
 * Who is calling: resolved once by the router from `Authorization: Bearer …` (API.md §1.2) and passed
 * to the concern Workers in the internal `x-bb-principal` header (the router strips any client copy;
 * concern Workers have no public route, so only the router can set it).
 */
import { z } from 'zod';
import { base64ToBytes, bytesToBase64 } from './crypto.ts';

/** Credential problems the router found; each Worker decides whether they are fatal for its route. */
export const invalidCredentialCodes = ['AUTH_INVALID_API_KEY', 'AUTH_INVALID_END_USER_JWT', 'AUTH_END_USER_JWT_EXPIRED', 'AUTH_INVALID_TOKEN'] as const;

export const principal = z.discriminatedUnion('kind', [
  /** No bearer, or the app's public anon key (API.md §1.2 Gap: the anon key works as a bearer). */
  z.object({ kind: z.literal('anonymous') }),
  /** A `bb_sk_` service key: the account that owns it, and its scopes (`*` or `app:{id}`…). */
  z.object({
    kind: z.literal('service_key'),
    keyId: z.string(),
    accountId: z.string(),
    scopes: z.array(z.string()),
  }),
  /** An end user of one app, from a verified RS256 access token. */
  z.object({
    kind: z.literal('end_user'),
    appId: z.string(),
    userId: z.string(),
    email: z.string().nullable(),
    emailVerified: z.boolean(),
  }),
  /** A bearer was sent but did not verify. */
  z.object({ kind: z.literal('invalid'), code: z.enum(invalidCredentialCodes), message: z.string() }),
]);

export type Principal = z.infer<typeof principal>;
export type ServiceKeyPrincipal = Extract<Principal, { kind: 'service_key' }>;
export type EndUserPrincipal = Extract<Principal, { kind: 'end_user' }>;

/** The internal header names (lowercase). Clients can never set these: the router deletes them. */
export const internalHeaders = {
  principal: 'x-bb-principal',
  requestId: 'x-request-id',
  clientIp: 'x-bb-client-ip',
  /** The AppGate (JSON, base64) of the app named by the path, when it exists. */
  app: 'x-bb-app',
  /** Set by the router on requests to an app host (`{subdomain}.{apps domain}`): the subdomain. */
  appHost: 'x-bb-app-host',
} as const;

/**
 * Request headers clients send that more than one Worker reads (lowercase). Unlike
 * {@link internalHeaders} they are not trusted: each reader checks who sent them.
 */
export const clientHeaders = {
  /** The MCP tool and action behind a request (`manage_app.pause`); set by the MCP Worker, recorded in audit event data. */
  mcpTool: 'x-butterbase-mcp-tool',
  /** Role simulation (API.md §1.2): `anon` or `user`. Service keys only. */
  asRole: 'x-butterbase-as-role',
  /** Role simulation (API.md §1.2): the end user's id. Service keys only. */
  asUser: 'x-butterbase-as-user',
} as const;

/**
 * Encodes a JSON value for an internal header: UTF-8 bytes, then base64. (`btoa` of the JSON text
 * throws on any character above U+00FF, e.g. an em dash in a pause reason.)
 */
export function encodeHeaderJson(value: unknown): string {
  return bytesToBase64(new TextEncoder().encode(JSON.stringify(value)));
}

/** Reverses {@link encodeHeaderJson}. @throws Error when the header is not base64 of UTF-8 JSON. */
export function decodeHeaderJson(header: string): unknown {
  return JSON.parse(new TextDecoder().decode(base64ToBytes(header)));
}

/** Encodes a principal for the internal header. */
export function encodePrincipal(value: Principal): string {
  return encodeHeaderJson(value);
}

/** Decodes the internal header; a missing or garbled header is treated as anonymous. */
export function decodePrincipal(header: string | null | undefined): Principal {
  if (!header) return { kind: 'anonymous' };
  try {
    const parsed = principal.safeParse(decodeHeaderJson(header));
    return parsed.success ? parsed.data : { kind: 'anonymous' };
  } catch {
    return { kind: 'anonymous' };
  }
}

/** True when a service key may act on `appId`: account keys (`*`) or keys scoped `app:{appId}`. */
export function keyCoversApp(key: ServiceKeyPrincipal, appId: string): boolean {
  return key.scopes.includes('*') || key.scopes.includes(`app:${appId}`);
}
