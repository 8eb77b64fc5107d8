/**
 * Signed deployment upload URLs (API.md §10.2: "uploadUrl", 900 s, ≤100 MB). The URL is the hosting
 * Worker's own `PUT /v1/{app_id}/{frontend|edge-ssr}/deployments/{id}/upload?expires=…&signature=…`: an
 * HMAC-SHA256 under a key derived from the platform master key over (app, deployment, expiry), so it
 * needs no bearer, names one deployment only and stops working at `expires` (Unix seconds). The
 * route streams the body into the bucket and enforces the size cap itself, which a presigned S3 PUT
 * (which must sign one exact Content-Length) could not do for a size the client has not told us.
 */
import { base64ToBytes, timingSafeEqual, toHex } from '../../shared/crypto.ts';

const keys = new Map<string, Promise<CryptoKey>>();

function signingKey(masterKeyBase64: string): Promise<CryptoKey> {
  let key = keys.get(masterKeyBase64);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey('raw', base64ToBytes(masterKeyBase64), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode('butterbase hosting upload url v1') },
        base,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign'],
      );
    })();
    keys.set(masterKeyBase64, key);
  }
  return key;
}

async function signature(masterKeyBase64: string, appId: string, deploymentId: string, expiresAtSeconds: number): Promise<string> {
  const data = new TextEncoder().encode(`${appId}\n${deploymentId}\n${expiresAtSeconds}`);
  return toHex(new Uint8Array(await crypto.subtle.sign('HMAC', await signingKey(masterKeyBase64), data)));
}

/**
 * The upload URL of a deployment under `origin` (the API host) and route base (`frontend` or
 * `edge-ssr`), valid until `expiresAtSeconds`.
 */
export async function uploadUrl(origin: string, masterKeyBase64: string, appId: string, deploymentId: string, expiresAtSeconds: number, base = 'frontend'): Promise<string> {
  const sig = await signature(masterKeyBase64, appId, deploymentId, expiresAtSeconds);
  return `${origin}/v1/${appId}/${base}/deployments/${deploymentId}/upload?expires=${expiresAtSeconds}&signature=${sig}`;
}

/** True when `sig` is the signature of (app, deployment, expiry); expiry itself is checked by the caller. */
export async function verifyUpload(masterKeyBase64: string, appId: string, deploymentId: string, expiresAtSeconds: number, sig: string): Promise<boolean> {
  return timingSafeEqual(await signature(masterKeyBase64, appId, deploymentId, expiresAtSeconds), sig);
}
