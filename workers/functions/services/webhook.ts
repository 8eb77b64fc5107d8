/**
 * Webhook signatures (API.md §8.2 webhooks): HMAC-SHA256 over the raw body with the trigger's secret,
 * compared in constant time.
 * - stripe: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=…]` over `"{t}.{body}"`, within
 *   `tolerance_seconds` (300) of now (Stripe docs, "Verify webhook signatures manually").
 * - github: `X-Hub-Signature-256: sha256=<hex>` over the body (GitHub docs, "Validating webhook deliveries").
 * - custom: `signature_header` (default `x-webhook-signature`) = `<hex>` or `sha256=<hex>` over the body.
 */
import { timingSafeEqual, toHex } from '../../shared/crypto.ts';

/** A webhook trigger's verification settings (secret already opened). */
export interface WebhookSettings {
  provider: 'stripe' | 'github' | 'custom';
  secret: string;
  signatureHeader?: string;
  toleranceSeconds?: number;
}

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return toHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(message))));
}

/** The header a provider signs in (lowercase). */
export function signatureHeaderOf(settings: Pick<WebhookSettings, 'provider' | 'signatureHeader'>): string {
  if (settings.signatureHeader) return settings.signatureHeader.toLowerCase();
  switch (settings.provider) {
    case 'stripe':
      return 'stripe-signature';
    case 'github':
      return 'x-hub-signature-256';
    case 'custom':
      return 'x-webhook-signature';
  }
}

/**
 * True when `headers` carry a valid signature of `body` for `settings` at `nowMs`.
 * In: raw body text, request headers, settings, the clock (ms since the epoch).
 */
export async function verifyWebhook(body: string, headers: Headers, settings: WebhookSettings, nowMs: number): Promise<boolean> {
  const value = headers.get(signatureHeaderOf(settings));
  if (!value) return false;
  switch (settings.provider) {
    case 'stripe': {
      const parts = value.split(',').map((p) => p.trim().split('=') as [string, string | undefined]);
      const timestamp = parts.find(([k]) => k === 't')?.[1];
      const signatures = parts.filter(([k, v]) => k === 'v1' && v).map(([, v]) => v!.toLowerCase());
      if (!timestamp || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) return false;
      if (Math.abs(nowMs / 1000 - Number(timestamp)) > (settings.toleranceSeconds ?? 300)) return false;
      const expected = await hmacHex(settings.secret, `${timestamp}.${body}`);
      return signatures.some((s) => timingSafeEqual(s, expected));
    }
    case 'github':
    case 'custom': {
      const given = value.trim().toLowerCase().replace(/^sha256=/, '');
      if (settings.provider === 'github' && !value.trim().toLowerCase().startsWith('sha256=')) return false;
      return timingSafeEqual(given, await hmacHex(settings.secret, body));
    }
  }
}
