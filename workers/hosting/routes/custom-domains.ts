/**
 * Routes: custom domains (API.md §10.2 "Custom domains", base /v1/:app/custom-domains, owner auth):
 * add, list, status, verify, delete. Two providers (CUSTOM_DOMAIN_PROVIDER):
 * - `local` (default): a hostname is active as soon as it is added;
 * - `cloudflare`: the hostname becomes a Cloudflare for SaaS custom hostname on CLOUDFLARE_ZONE_ID
 *   (services/custom-hostnames.ts); it is `pending` until Cloudflare reports it active, and status and
 *   verify read (verify: re-validate) it there, storing what Cloudflare says the owner must do.
 * Either way the router sends requests whose Host is an active hostname to the app's site
 * (see {@link resolveCustomHostname}).
 */
import { and, asc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { controlDb, isUniqueViolation } from '../../shared/control-db.ts';
import { apps, customDomains } from '../../shared/control-schema.ts';
import { randomHex } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { addCustomDomainBody } from '../../shared/schemas/hosting.ts';
import { parseJsonBody } from '../../shared/validation.ts';
import { requireOwner } from '../caller.ts';
import type { Env } from '../env.ts';
import {
  createCustomHostname, deleteCustomHostname, getCustomHostname, providerVerification, revalidateCustomHostname,
  type CustomHostname, type ProviderVerification,
} from '../services/custom-hostnames.ts';

/** The custom-domain routes, mounted by the hosting Worker. */
export const customDomainRoutes = new Hono<{ Bindings: Env }>();

type DomainRow = typeof customDomains.$inferSelect;

const hostnamePattern = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function domainWire(row: DomainRow) {
  return {
    id: row.id, app_id: row.app_id, hostname: row.hostname, status: row.status, ssl_status: row.ssl_status,
    domain_type: row.hostname.split('.').length === 2 ? 'apex' : 'subdomain', is_primary: row.is_primary,
    created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString(),
  };
}

function cnameTarget(env: Env): string {
  return env.CNAME_TARGET ?? 'butterbase.dev';
}

/** The stored ProviderVerification, checked when read back (null for the local provider). */
const storedVerification = z.object({
  ownership: z.object({ type: z.literal('txt'), name: z.string(), value: z.string() }).nullable(),
  certificate: z.union([
    z.object({ type: z.literal('txt'), name: z.string(), value: z.string() }),
    z.object({ type: z.literal('http'), url: z.string(), body: z.string() }),
  ]).nullable(),
  errors: z.array(z.string()),
}).nullable().catch(null);

function providerRecords(row: DomainRow): ProviderVerification | null {
  return storedVerification.parse(row.provider_verification ?? null);
}

function verification(env: Env, row: DomainRow) {
  const provider = providerRecords(row);
  if (provider) {
    const txt = row.validation_method === 'txt' ? (provider.certificate?.type === 'txt' ? provider.certificate : provider.ownership) : null;
    return txt
      ? { type: 'txt', name: txt.name, value: txt.value, errors: provider.errors }
      : { type: 'http', value: cnameTarget(env), errors: provider.errors };
  }
  return row.validation_method === 'txt'
    ? { type: 'txt', name: `_butterbase.${row.hostname}`, value: `butterbase-verify=${row.verification_token}`, errors: [] as string[] }
    : { type: 'http', value: cnameTarget(env), errors: [] as string[] };
}

function instructions(env: Env, row: DomainRow): string {
  const provider = providerRecords(row);
  if (provider) {
    const steps = [`Add a CNAME record from ${row.hostname} to ${cnameTarget(env)} (DNS only, not proxied).`];
    if (provider.ownership) steps.push(`Prove ownership with a TXT record ${provider.ownership.name} = ${provider.ownership.value}.`);
    if (provider.certificate?.type === 'txt') steps.push(`For the certificate, add a TXT record ${provider.certificate.name} = ${provider.certificate.value}.`);
    if (provider.certificate?.type === 'http') steps.push(`The certificate is validated over HTTP at ${provider.certificate.url} once the CNAME is in place.`);
    steps.push('Then POST …/verify (or wait: Cloudflare re-checks on its own).');
    return steps.join(' ');
  }
  return row.validation_method === 'txt'
    ? `Add a TXT record _butterbase.${row.hostname} with value butterbase-verify=${row.verification_token}, and a CNAME from ${row.hostname} to ${cnameTarget(env)} (DNS only).`
    : `Add a CNAME record from ${row.hostname} to ${cnameTarget(env)} (DNS only, not proxied); an apex domain needs CNAME flattening or validation_method "txt".`;
}

async function getDomain(env: Env, appId: string, id: string): Promise<DomainRow> {
  const notFound = new ApiError('RESOURCE_NOT_FOUND', `Custom domain ${id} not found.`);
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound;
  const [row] = await controlDb(env).select().from(customDomains).where(and(eq(customDomains.app_id, appId), eq(customDomains.id, id)));
  if (!row) throw notFound;
  return row;
}

customDomainRoutes.post('/v1/:app/custom-domains', async (c) => {
  const app = requireOwner(c);
  const body = await parseJsonBody(c.req.raw, addCustomDomainBody);
  const hostname = body.hostname.trim().toLowerCase().replace(/\.$/, '');
  if (!hostnamePattern.test(hostname) || hostname.endsWith(`.${cnameTarget(c.env)}`) || hostname === cnameTarget(c.env)) {
    throw new ApiError('VALIDATION_INVALID_NAME', `"${body.hostname}" is not a hostname you can add (a DNS name such as www.example.com, not under ${cnameTarget(c.env)}).`, {
      remediation: 'Send a fully qualified hostname you control, e.g. "www.example.com".',
    });
  }
  const provider = providerOf(c.env);
  const [taken] = await controlDb(c.env).select({ id: customDomains.id }).from(customDomains).where(eq(customDomains.hostname, hostname));
  if (taken) throw new ApiError('RESOURCE_ALREADY_EXISTS', `${hostname} is already added to an app.`);
  // With Cloudflare the hostname is created there first; if recording it fails, it is removed again.
  const remote = provider === 'cloudflare' ? await createCustomHostname(c.env, hostname, body.validation_method) : null;
  let row: DomainRow;
  try {
    [row] = (await controlDb(c.env).insert(customDomains).values({
      app_id: app.id, hostname, validation_method: body.validation_method, verification_token: randomHex(16),
      ...(remote ? providerFields(remote) : { status: 'active', ssl_status: 'active' }),
    }).returning()) as [DomainRow];
  } catch (error) {
    if (remote) await deleteCustomHostname(c.env, remote.id).catch((cleanup: unknown) => console.error(`[hosting] custom hostname ${remote.id} left on Cloudflare: ${String(cleanup)}`));
    if (isUniqueViolation(error, 'custom_domains_hostname_key')) throw new ApiError('RESOURCE_ALREADY_EXISTS', `${hostname} is already added to an app.`);
    throw error;
  }
  const check = verification(c.env, row);
  return c.json({
    domain: domainWire(row),
    cname_target: cnameTarget(c.env),
    validation_method: row.validation_method,
    ...(row.validation_method === 'txt' ? { ownership_verification: { type: 'txt', name: check.type === 'txt' ? check.name : '', value: check.value } } : { verification_records: [{ type: 'CNAME', name: hostname, value: cnameTarget(c.env) }] }),
    instructions: instructions(c.env, row),
  }, 201);
});

customDomainRoutes.get('/v1/:app/custom-domains', async (c) => {
  const app = requireOwner(c);
  const rows = await controlDb(c.env).select().from(customDomains).where(eq(customDomains.app_id, app.id)).orderBy(asc(customDomains.created_at));
  return c.json({ domains: rows.map(domainWire), cname_target: cnameTarget(c.env) });
});

/** `status` reads the provider's view, `verify` also asks it to validate again; both store what it says. */
const statusOf = (revalidate: boolean) => async (c: Parameters<typeof requireOwner>[0]) => {
  const app = requireOwner(c);
  let row = await getDomain(c.env, app.id, c.req.param('id')!);
  if (row.provider_id) {
    const remote = revalidate ? await revalidateCustomHostname(c.env, row.provider_id, row.validation_method) : await getCustomHostname(c.env, row.provider_id);
    [row] = (await controlDb(c.env).update(customDomains).set({ ...providerFields(remote), updated_at: new Date() })
      .where(eq(customDomains.id, row.id)).returning()) as [DomainRow];
    if (row.status !== 'active') forgetHostname(row.hostname);
  }
  return c.json({ domain: domainWire(row), verification: verification(c.env, row), instructions: row.status === 'active' ? undefined : instructions(c.env, row) });
};
customDomainRoutes.get('/v1/:app/custom-domains/:id/status', statusOf(false));
customDomainRoutes.post('/v1/:app/custom-domains/:id/verify', statusOf(true));

customDomainRoutes.delete('/v1/:app/custom-domains/:id', async (c) => {
  const app = requireOwner(c);
  const row = await getDomain(c.env, app.id, c.req.param('id'));
  if (row.provider_id) await deleteCustomHostname(c.env, row.provider_id);
  await controlDb(c.env).delete(customDomains).where(eq(customDomains.id, row.id));
  forgetHostname(row.hostname);
  return c.json({ deleted: true, id: row.id });
});

/** The configured provider. @throws ApiError FEATURE_NOT_AVAILABLE for an unknown one. */
function providerOf(env: Env): 'local' | 'cloudflare' {
  const provider = env.CUSTOM_DOMAIN_PROVIDER ?? 'local';
  if (provider === 'local' || provider === 'cloudflare') return provider;
  throw new ApiError('FEATURE_NOT_AVAILABLE', `Custom domain provider "${provider}" is not supported (use "local" or "cloudflare").`);
}

/** The row fields a Cloudflare custom hostname sets: its id, statuses and verification records. */
function providerFields(remote: CustomHostname) {
  return { provider_id: remote.id, status: remote.status, ssl_status: remote.ssl.status, provider_verification: providerVerification(remote) };
}

const hostnameCache = new Map<string, { subdomain: string | null; untilMs: number }>();
const hostnameCacheMs = 10_000;

function forgetHostname(hostname: string): void {
  hostnameCache.delete(hostname);
}

/**
 * The app subdomain an active custom hostname serves, or null (cached 10 s per isolate; a delete
 * here clears this isolate's entry at once).
 */
export async function resolveCustomHostname(env: Env, hostname: string): Promise<string | null> {
  const key = hostname.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const cached = hostnameCache.get(key);
  if (cached && cached.untilMs > Date.now()) return cached.subdomain;
  const [row] = await controlDb(env).select({ subdomain: apps.subdomain }).from(customDomains)
    .innerJoin(apps, eq(apps.id, customDomains.app_id))
    .where(and(eq(customDomains.hostname, key), eq(customDomains.status, 'active')));
  const subdomain = row?.subdomain ?? null;
  if (hostnameCache.size > 1000) hostnameCache.clear();
  hostnameCache.set(key, { subdomain, untilMs: Date.now() + hostnameCacheMs });
  return subdomain;
}
