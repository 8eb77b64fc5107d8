/**
 * The embedded endpoint's credentials: user `postgres` and a random password generated once per
 * state folder and kept there (`<stateDir>/db.password`, mode 0600, like `master.key`), so every
 * process started on that folder — the platform, `npm run db`, tests — agrees on it and nothing else
 * on the machine knows it.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EndpointCredentials } from './server.ts';

/** The endpoint's user name. */
export const endpointUser = 'postgres';

/** The password file inside a state folder. */
export function passwordFile(stateDir: string): string {
  return join(stateDir, 'db.password');
}

/**
 * Reads the state folder's endpoint password, creating it on first use (24 random bytes, hex, so it
 * needs no escaping in a URL).
 * @returns `{ user, password }`
 */
export async function endpointCredentials(stateDir: string): Promise<EndpointCredentials> {
  const path = passwordFile(stateDir);
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    if (stored !== '') return { user: endpointUser, password: stored };
  } catch {
    // first start on this state folder
  }
  await mkdir(stateDir, { recursive: true });
  const password = randomBytes(24).toString('hex');
  // 'wx': when two processes start at once, the loser reads the winner's password instead.
  try {
    await writeFile(path, `${password}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    return { user: endpointUser, password: (await readFile(path, 'utf8')).trim() };
  }
  await chmod(path, 0o600);
  return { user: endpointUser, password };
}

/** A connection string for `database` on the endpoint (the host is ignored: the fetch endpoint decides). */
export function endpointConnectionString(credentials: EndpointCredentials, database: string): string {
  return `postgresql://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@localhost/${database}`;
}
