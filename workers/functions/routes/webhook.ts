/**
 * Route: POST /v1/:app/webhook/:name (API.md §8.2 webhooks) — public; the raw body is verified with
 * the function's webhook trigger (Stripe, GitHub or custom HMAC), deduplicated by the configured
 * idempotency header for 24 h, then the function runs with the body as sent (role service, no user).
 * Bad signature → 401 `{error:"signature verification failed"}`; a repeat → 200
 * `{ok:true, duplicate:true}` with `x-butterbase-duplicate: true`.
 */
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { functionWebhookDeliveries } from '../../shared/control-schema.ts';
import { decryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { clientIp, requestId } from '../../shared/http.ts';
import type { Env } from '../env.ts';
import { forwardedRequest } from '../services/http-invoke.ts';
import { invoke, type FunctionsContext } from '../services/invoke.ts';
import { controlDb, findFunction, functionNotFound, triggerOf } from '../services/records.ts';
import { verifyWebhook } from '../services/webhook.ts';

export const webhookRoutes = new Hono<{ Bindings: Env }>();

const dedupHours = 24;

/** Records a delivery key; false when it was seen within the last 24 h. */
async function firstDelivery(env: Env, functionId: string, key: string): Promise<boolean> {
  const expiresAt = new Date(Date.now() + dedupHours * 3_600_000);
  const rows = await controlDb(env).insert(functionWebhookDeliveries).values({ function_id: functionId, idempotency_key: key.slice(0, 500), expires_at: expiresAt })
    .onConflictDoUpdate({
      target: [functionWebhookDeliveries.function_id, functionWebhookDeliveries.idempotency_key],
      set: { expires_at: expiresAt },
      setWhere: sql`${functionWebhookDeliveries.expires_at} < now()`,
    }).returning({ id: functionWebhookDeliveries.function_id });
  return rows.length > 0;
}

webhookRoutes.post('/v1/:app/webhook/:name', async (c) => {
  const appId = c.req.param('app');
  const name = c.req.param('name');
  const row = await findFunction(c.env, appId, name);
  if (!row) throw functionNotFound(name);
  const trigger = triggerOf(row, 'webhook');
  if (!trigger?.enabled) {
    throw new ApiError('RESOURCE_NOT_FOUND', `Function "${name}" has no enabled webhook trigger.`, {
      remediation: 'Redeploy it with triggers [{type:"webhook", config:{provider, secret}}].',
    });
  }
  const config = trigger.config;
  const body = await c.req.text();
  const valid = await verifyWebhook(body, c.req.raw.headers, {
    provider: config.provider as 'stripe' | 'github' | 'custom',
    secret: await decryptSecret(String(config.secret_sealed), c.env.PLATFORM_MASTER_KEY),
    signatureHeader: typeof config.signature_header === 'string' ? config.signature_header : undefined,
    toleranceSeconds: typeof config.tolerance_seconds === 'number' ? config.tolerance_seconds : undefined,
  }, Date.now());
  if (!valid) return c.json({ error: 'signature verification failed' }, 401);
  const keyHeader = typeof config.idempotency_key_header === 'string' ? config.idempotency_key_header : null;
  const key = keyHeader ? c.req.header(keyHeader) : undefined;
  if (key && !(await firstDelivery(c.env, row.id, key))) {
    return c.json({ ok: true, duplicate: true }, 200, { 'x-butterbase-duplicate': 'true' });
  }
  const request = forwardedRequest(c.env, new Request(c.req.raw.url, { method: 'POST', headers: c.req.raw.headers, body }), new URL(c.req.url).pathname, 'POST');
  return invoke(c.env, c.executionCtx as unknown as FunctionsContext, {
    appId, fn: row, request, trigger: 'webhook',
    caller: { type: 'anonymous', keyId: null, scope: null, userId: null }, userId: null,
    requestId: requestId(c), ip: clientIp(c),
  });
});
