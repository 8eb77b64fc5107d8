/**
 * Which deployment's files an Edge SSR bundle's `ASSETS` binding serves, and why it cannot be made to
 * serve another's.
 *
 * `ASSETS` is a binding to this Worker's `SsrAssets` entrypoint with props `{ appId, deploymentId,
 * grant }`. Locally (Worker Loader) the hosting Worker creates it per load with `ctx.exports`; on
 * Workers for Platforms it is a service binding in the uploaded script's metadata with the same
 * props (the upload API takes `props` on service bindings, as wrangler's `services[].props` does), so
 * it reaches the entrypoint with every call no matter how the bundle reaches its env (`env` argument
 * or `import { env } from 'cloudflare:workers'`). User code cannot change its bindings, but props are
 * only as trustworthy as every path that can set them, so they also carry `grant`: an HMAC-SHA256
 * over (app id, deployment id) under a key derived (HKDF-SHA256, info "butterbase ssr assets v1")
 * from PLATFORM_MASTER_KEY. `SsrAssets` serves nothing unless the grant verifies, so a script
 * uploaded with props the hosting Worker did not sign — a forged or another app's deployment id — is
 * refused, and a platform that stopped delivering props fails closed. The grant never expires: a
 * deployment's files never change, and it only opens files the deployment itself serves.
 *
 * Wire form of `grant`: base64url of the 32-byte MAC over `"{appId}\n{deploymentId}"`.
 */
import { z } from 'zod';
import { base64ToBytes, derivedHmacKey } from '../../shared/crypto.ts';

/** Props of the `SsrAssets` entrypoint (and, without `grant`, of `SsrOutbound`). */
export interface SsrAssetsProps {
  appId: string;
  deploymentId: string;
  /** {@link signAssetsGrant} of appId and deploymentId. */
  grant: string;
}

const propsSchema = z.object({ appId: z.string().min(1).max(64), deploymentId: z.string().min(1).max(64), grant: z.string().min(1).max(128) });

const encoder = new TextEncoder();
/** The HMAC key of a master key (HKDF-SHA256, info "butterbase ssr assets v1"), cached per isolate. */
function grantKey(masterKey: string): Promise<CryptoKey> {
  return derivedHmacKey(masterKey, 'butterbase ssr assets v1');
}

const message = (appId: string, deploymentId: string) => encoder.encode(`${appId}\n${deploymentId}`);

/** The props of deployment `deploymentId` of `appId` (master key: base64 of 32 bytes). */
export async function signAssetsGrant(appId: string, deploymentId: string, masterKey: string): Promise<SsrAssetsProps> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await grantKey(masterKey), message(appId, deploymentId)));
  let binary = '';
  for (const b of mac) binary += String.fromCharCode(b);
  return { appId, deploymentId, grant: btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') };
}

/**
 * Checks props an `SsrAssets` call arrived with (constant-time, Web Crypto `verify`).
 * Out: the app and deployment to serve, or null when the props are missing, malformed or not signed
 * for exactly that app and deployment.
 */
export async function verifyAssetsGrant(props: unknown, masterKey: string): Promise<{ appId: string; deploymentId: string } | null> {
  const parsed = propsSchema.safeParse(props);
  if (!parsed.success) return null;
  let mac: Uint8Array;
  try {
    mac = base64ToBytes(parsed.data.grant.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (parsed.data.grant.length % 4)) % 4));
  } catch {
    return null;
  }
  const { appId, deploymentId } = parsed.data;
  const ok = await crypto.subtle.verify('HMAC', await grantKey(masterKey), mac, message(appId, deploymentId));
  return ok ? { appId, deploymentId } : null;
}
