/**
 * Custom domains through Cloudflare for SaaS (API.md §10.2, issue 11 item 5): with
 * CUSTOM_DOMAIN_PROVIDER=cloudflare the hosting Worker's routes create, read, re-validate and delete
 * custom hostnames on the SaaS zone — here a local fake of that API (test/fakes/cloudflare-saas.ts) —
 * and a hostname routes to the app only once Cloudflare reports it active. The routes run in-process
 * behind the real router code (test/helpers/in-process.ts) over the platform's control database.
 */
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { api as httpApi, createReadyApp, type ApiOptions } from './helpers/api.ts';
import { inProcessPlatform, type InProcessPlatform } from './helpers/in-process.ts';
import { startFakeCloudflareSaas, type FakeCloudflareSaas } from './fakes/cloudflare-saas.ts';
import { resolveCustomHostname } from '../workers/hosting/routes/custom-domains.ts';

let cloudflare: FakeCloudflareSaas;
let platform: InProcessPlatform;
let appId = '';
let subdomain = '';
const api = (path: string, options: ApiOptions = {}) => httpApi(path, { ...options, via: platform.fetch });
const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2, 8)}.example.com`;

beforeAll(async () => {
  cloudflare = await startFakeCloudflareSaas({ token: 'cf-token', zoneId: 'zone123' });
  platform = await inProcessPlatform(inject('localSettings'), {
    hosting: { CUSTOM_DOMAIN_PROVIDER: 'cloudflare', CLOUDFLARE_API_URL: cloudflare.url, CLOUDFLARE_API_TOKEN: 'cf-token', CLOUDFLARE_ZONE_ID: 'zone123' },
  });
  ({ appId } = await createReadyApp('saas', { via: platform.fetch }));
  subdomain = (await api(`/v1/${appId}/config`)).body.subdomain;
});

afterAll(async () => {
  await cloudflare?.close();
});

describe('custom domains on Cloudflare for SaaS', () => {
  it('add creates the custom hostname on the zone, pending, with the CNAME and Cloudflare\'s records', async () => {
    const hostname = unique('shop');
    const added = await api(`/v1/${appId}/custom-domains`, { body: { hostname, validation_method: 'txt' } });
    expect(added.status, added.text).toBe(201);
    expect(added.body.domain).toMatchObject({ hostname, status: 'pending', ssl_status: 'pending_validation', domain_type: 'subdomain' });
    expect(cloudflare.requests.at(-1)).toMatchObject({ method: 'POST', path: '/zones/zone123/custom_hostnames', body: { hostname, ssl: { method: 'txt', type: 'dv' } } });
    expect(cloudflare.hostnames()).toContain(hostname);
    const status = await api(`/v1/${appId}/custom-domains/${added.body.domain.id}/status`);
    expect(status.body.verification).toMatchObject({ type: 'txt', name: `_acme-challenge.${hostname}`, errors: ['custom hostname does not CNAME to this zone.'] });
    expect(status.body.instructions).toContain(`_cf-custom-hostname.${hostname}`);
    // Not active on Cloudflare yet: the router does not send its requests to the app.
    expect(await resolveCustomHostname(platform.hostingEnv, hostname)).toBeNull();
  });

  it('routes the hostname once Cloudflare reports it active; delete removes it from the zone', async () => {
    const hostname = unique('www');
    const added = await api(`/v1/${appId}/custom-domains`, { body: { hostname } });
    expect(added.status, added.text).toBe(201);
    const id = added.body.domain.id;
    cloudflare.activate(hostname);
    const verified = await api(`/v1/${appId}/custom-domains/${id}/verify`, { method: 'POST' });
    expect(verified.status, verified.text).toBe(200);
    expect(cloudflare.requests.at(-1)).toMatchObject({ method: 'PATCH', body: { ssl: { method: 'http', type: 'dv' } } });
    expect(verified.body.domain).toMatchObject({ status: 'active', ssl_status: 'active' });
    expect(verified.body.verification.errors).toEqual([]);
    expect(verified.body.instructions).toBeUndefined();
    expect(await resolveCustomHostname(platform.hostingEnv, hostname)).toBe(subdomain);
    const deleted = await api(`/v1/${appId}/custom-domains/${id}`, { method: 'DELETE' });
    expect(deleted.body).toEqual({ deleted: true, id });
    expect(cloudflare.hostnames()).not.toContain(hostname);
    expect((await api(`/v1/${appId}/custom-domains`)).body.domains.map((d: { id: string }) => d.id)).not.toContain(id);
  });

  it('a hostname another app has is 409 RESOURCE_ALREADY_EXISTS without a Cloudflare call', async () => {
    const hostname = unique('dup');
    const { appId: other } = await createReadyApp('saas2', { via: platform.fetch });
    expect((await api(`/v1/${other}/custom-domains`, { body: { hostname } })).status).toBe(201);
    const calls = cloudflare.requests.length;
    const again = await api(`/v1/${appId}/custom-domains`, { body: { hostname } });
    expect(again.status, again.text).toBe(409);
    expect(again.body.error.code).toBe('RESOURCE_ALREADY_EXISTS');
    expect(cloudflare.requests.length).toBe(calls);
  });

  it('a hostname already on the zone elsewhere (Cloudflare code 1406) is 409 and nothing is recorded', async () => {
    const hostname = unique('taken');
    const seeded = await fetch(`${cloudflare.url}/zones/zone123/custom_hostnames`, {
      method: 'POST', headers: { authorization: 'Bearer cf-token', 'content-type': 'application/json' }, body: JSON.stringify({ hostname, ssl: { method: 'http', type: 'dv' } }),
    });
    expect(seeded.status).toBe(201);
    const res = await api(`/v1/${appId}/custom-domains`, { body: { hostname } });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe('RESOURCE_ALREADY_EXISTS');
    expect((await api(`/v1/${appId}/custom-domains`)).body.domains.map((d: { hostname: string }) => d.hostname)).not.toContain(hostname);
  });

  it('a Cloudflare API failure is 502 EXTERNAL_CLOUDFLARE_ERROR with its message, and no domain is added', async () => {
    const hostname = unique('down');
    cloudflare.failNext('POST', 503, 'Service temporarily unavailable');
    const res = await api(`/v1/${appId}/custom-domains`, { body: { hostname } });
    expect(res.status, res.text).toBe(502);
    expect(res.body.error.code).toBe('EXTERNAL_CLOUDFLARE_ERROR');
    expect(res.body.error.message).toContain('Service temporarily unavailable');
    expect((await api(`/v1/${appId}/custom-domains`)).body.domains.map((d: { hostname: string }) => d.hostname)).not.toContain(hostname);
  });

  it('a status read when Cloudflare fails answers 502 and keeps the stored row', async () => {
    const hostname = unique('keep');
    const added = await api(`/v1/${appId}/custom-domains`, { body: { hostname } });
    cloudflare.failNext('GET', 500, 'Internal error');
    const status = await api(`/v1/${appId}/custom-domains/${added.body.domain.id}/status`);
    expect(status.status).toBe(502);
    const listed = (await api(`/v1/${appId}/custom-domains`)).body.domains.find((d: { id: string }) => d.id === added.body.domain.id);
    expect(listed).toMatchObject({ hostname, status: 'pending' });
  });
});
