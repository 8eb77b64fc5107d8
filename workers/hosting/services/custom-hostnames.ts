/**
 * Cloudflare for SaaS custom hostnames, the production provider of custom domains (API.md §10.2):
 * a customer's hostname is added to the platform's SaaS zone, Cloudflare validates ownership and
 * issues a certificate, and requests for it reach the router (which asks hosting which app it
 * serves). Source: Cloudflare API v4 "Custom Hostnames" — POST/GET/PATCH/DELETE
 * `/zones/{zone_id}/custom_hostnames[/{id}]`, bodies `{ hostname, ssl: { method, type: "dv" } }`,
 * answers wrapped in `{ success, errors, messages, result }`; a PATCH with the same `ssl` asks
 * Cloudflare to validate again (what "verify" means here).
 */
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';

/** Where and how to reach the Cloudflare API (hosting vars/secrets). */
export interface CustomHostnameEnv {
  /** API base, default `https://api.cloudflare.com/client/v4` (tests point it at a fake). */
  CLOUDFLARE_API_URL?: string;
  /** API token with "SSL and Certificates: Edit" on the SaaS zone (secret). */
  CLOUDFLARE_API_TOKEN?: string;
  /** The zone Cloudflare for SaaS is enabled on. */
  CLOUDFLARE_ZONE_ID?: string;
}

const validationRecord = z.object({
  txt_name: z.string().optional(),
  txt_value: z.string().optional(),
  http_url: z.string().optional(),
  http_body: z.string().optional(),
}).passthrough();

/** The part of a custom hostname object the platform reads. */
export const customHostname = z.object({
  id: z.string(),
  hostname: z.string(),
  status: z.string(),
  ssl: z.object({
    status: z.string().default('initializing'),
    method: z.string().optional(),
    txt_name: z.string().optional(),
    txt_value: z.string().optional(),
    http_url: z.string().optional(),
    http_body: z.string().optional(),
    validation_records: z.array(validationRecord).optional(),
    validation_errors: z.array(z.object({ message: z.string() }).passthrough()).optional(),
  }).passthrough().default({ status: 'initializing' }),
  ownership_verification: z.object({ type: z.string(), name: z.string(), value: z.string() }).passthrough().optional(),
  ownership_verification_http: z.object({ http_url: z.string(), http_body: z.string() }).passthrough().optional(),
  verification_errors: z.array(z.string()).optional(),
}).passthrough();
export type CustomHostname = z.infer<typeof customHostname>;

const envelope = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ code: z.number().optional(), message: z.string() }).passthrough()).default([]),
  result: z.unknown().optional(),
});

/** Cloudflare's error code for a hostname that is already on a zone. */
const duplicateHostname = 1406;

function settings(env: CustomHostnameEnv): { base: string; token: string; zone: string } {
  if (!env.CLOUDFLARE_API_TOKEN || !env.CLOUDFLARE_ZONE_ID) {
    throw new ApiError('INTERNAL_ERROR', 'Custom domains are configured for Cloudflare for SaaS, but CLOUDFLARE_API_TOKEN or CLOUDFLARE_ZONE_ID is missing.');
  }
  return { base: (env.CLOUDFLARE_API_URL ?? 'https://api.cloudflare.com/client/v4').replace(/\/$/, ''), token: env.CLOUDFLARE_API_TOKEN, zone: env.CLOUDFLARE_ZONE_ID };
}

/**
 * One API call. Out: the parsed `result`.
 * @throws ApiError RESOURCE_ALREADY_EXISTS (409) for Cloudflare's duplicate-hostname error;
 *   RESOURCE_NOT_FOUND when `notFoundOk` is false and Cloudflare answers 404; EXTERNAL_CLOUDFLARE_ERROR
 *   (502, Cloudflare's messages in the text) for any other failure or an answer that does not parse.
 */
async function call<T>(env: CustomHostnameEnv, method: string, path: string, body: unknown, parse: z.ZodType<T>): Promise<T> {
  const { base, token, zone } = settings(env);
  let response: Response;
  try {
    response = await fetch(`${base}/zones/${encodeURIComponent(zone)}/custom_hostnames${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError('EXTERNAL_CLOUDFLARE_ERROR', 'The Cloudflare API could not be reached.', { internal: String(error) });
  }
  const text = await response.text();
  let parsed: z.infer<typeof envelope> | undefined;
  try {
    parsed = envelope.parse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (response.ok && parsed?.success) {
    const result = parse.safeParse(parsed.result);
    if (result.success) return result.data;
    throw new ApiError('EXTERNAL_CLOUDFLARE_ERROR', 'The Cloudflare API answered in a shape the platform does not understand.', { internal: text.slice(0, 1000) });
  }
  const messages = parsed?.errors.map((e) => e.message).join('; ') || `HTTP ${response.status}`;
  if (parsed?.errors.some((e) => e.code === duplicateHostname)) {
    throw new ApiError('RESOURCE_ALREADY_EXISTS', `Cloudflare already has this hostname: ${messages}`);
  }
  if (response.status === 404) throw new ApiError('RESOURCE_NOT_FOUND', `Cloudflare has no such custom hostname: ${messages}`);
  throw new ApiError('EXTERNAL_CLOUDFLARE_ERROR', `The Cloudflare API refused the custom hostname call: ${messages}`, { internal: text.slice(0, 1000) });
}

/** Adds `hostname` to the SaaS zone with DV certificate validation by `method` (`http` or `txt`). */
export function createCustomHostname(env: CustomHostnameEnv, hostname: string, method: 'http' | 'txt'): Promise<CustomHostname> {
  return call(env, 'POST', '', { hostname, ssl: { method, type: 'dv' } }, customHostname);
}

/** Reads a custom hostname's current status. */
export function getCustomHostname(env: CustomHostnameEnv, id: string): Promise<CustomHostname> {
  return call(env, 'GET', `/${encodeURIComponent(id)}`, undefined, customHostname);
}

/** Asks Cloudflare to validate the hostname again (PATCH with the same ssl settings); out: the new status. */
export function revalidateCustomHostname(env: CustomHostnameEnv, id: string, method: 'http' | 'txt'): Promise<CustomHostname> {
  return call(env, 'PATCH', `/${encodeURIComponent(id)}`, { ssl: { method, type: 'dv' } }, customHostname);
}

/** Removes the hostname from the zone; one Cloudflare no longer has counts as removed. */
export async function deleteCustomHostname(env: CustomHostnameEnv, id: string): Promise<void> {
  try {
    await call(env, 'DELETE', `/${encodeURIComponent(id)}`, undefined, z.unknown());
  } catch (error) {
    if (error instanceof ApiError && error.code === 'RESOURCE_NOT_FOUND') return;
    throw error;
  }
}

/** What a hostname's owner must do next, from Cloudflare's answer: the records, and its errors. */
export interface ProviderVerification {
  /** The TXT record proving ownership (Cloudflare's `ownership_verification`), when it asks for one. */
  ownership: { type: 'txt'; name: string; value: string } | null;
  /** The certificate's DCV: a TXT record, or an HTTP token Cloudflare fetches once the CNAME points at it. */
  certificate: { type: 'txt'; name: string; value: string } | { type: 'http'; url: string; body: string } | null;
  errors: string[];
}

/** Reads {@link ProviderVerification} out of a custom hostname object. */
export function providerVerification(record: CustomHostname): ProviderVerification {
  const ssl = record.ssl;
  const first = ssl.validation_records?.[0];
  const txtName = ssl.txt_name ?? first?.txt_name;
  const txtValue = ssl.txt_value ?? first?.txt_value;
  const httpUrl = ssl.http_url ?? first?.http_url;
  const httpBody = ssl.http_body ?? first?.http_body;
  return {
    ownership: record.ownership_verification ? { type: 'txt', name: record.ownership_verification.name, value: record.ownership_verification.value } : null,
    certificate: txtName && txtValue ? { type: 'txt', name: txtName, value: txtValue } : httpUrl && httpBody !== undefined ? { type: 'http', url: httpUrl, body: httpBody } : null,
    errors: [...(record.verification_errors ?? []), ...(ssl.validation_errors ?? []).map((e) => e.message)],
  };
}
