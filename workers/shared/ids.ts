/** Identifier generators. */
import { randomString } from './crypto.ts';

const slugAlphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A new app id: `app_` + 12 of `[0-9a-z]` (API.md §1.1). Also the app's database name. */
export function newAppId(): string {
  return `app_${randomString(12, slugAlphabet)}`;
}
