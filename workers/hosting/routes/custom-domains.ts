/**
 * Routes: custom domains (API.md §10.2 "Custom domains", base /v1/:app/custom-domains, owner auth):
 * add, list, status, verify, delete. Locally (CUSTOM_DOMAIN_PROVIDER unset or `local`) a hostname is
 * active as soon as it is added, and the router sends requests whose Host is that hostname to the
 * app's site (see {@link resolveCustomHostname}). The production provider (Cloudflare for SaaS custom
 * hostnames) is not built yet: with any other provider, add answers FEATURE_NOT_AVAILABLE.
 */
import { and, asc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { controlDb, isUniqueViolation } from '../../shared/control-db.ts';
import { apps, customDomains } from '../../shared/control-schema.ts';
import { randomHex } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { addCustomDomainBody } from '../../shared/schemas/hosting.ts';
import { parseJsonBody } from '../../shared/validation.ts';
import { requireOwner } from '../caller.ts';
import type { Env } from '../env.ts';

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

function verification(env: Env, row: DomainRow) {
  return row.validation_method === 'txt'
    ? { type: 'txt', name: `_butterbase.${row.hostname}`, value: `butterbase-verify=${row.verification_token}`, errors: [] as string[] }
    : { type: 'http', value: cnameTarget(env), errors: [] as string[] };
}

function instructions(env: Env, row: DomainRow): string {
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
  if ((c.env.CUSTOM_DOMAIN_PROVIDER ?? 'local') !== 'local') {
    throw new ApiError('FEATURE_NOT_AVAILABLE', 'Custom domains through Cloudflare for SaaS are not available on this deployment yet.');
  }
  let row: DomainRow;
  try {
    [row] = (await controlDb(c.env).insert(customDomains).values({
      app_id: app.id, hostname, validation_method: body.validation_method, verification_token: randomHex(16),
      status: 'active', ssl_status: 'active',
    }).returning()) as [DomainRow];
  } catch (error) {
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

const statusOf = async (c: Parameters<typeof requireOwner>[0]) => {
  const app = requireOwner(c);
  const row = await getDomain(c.env, app.id, c.req.param('id')!);
  return c.json({ domain: domainWire(row), verification: verification(c.env, row), instructions: row.status === 'active' ? undefined : instructions(c.env, row) });
};
customDomainRoutes.get('/v1/:app/custom-domains/:id/status', statusOf);
customDomainRoutes.post('/v1/:app/custom-domains/:id/verify', statusOf);

customDomainRoutes.delete('/v1/:app/custom-domains/:id', async (c) => {
  const app = requireOwner(c);
  const row = await getDomain(c.env, app.id, c.req.param('id'));
  await controlDb(c.env).delete(customDomains).where(eq(customDomains.id, row.id));
  forgetHostname(row.hostname);
  return c.json({ deleted: true, id: row.id });
});

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
