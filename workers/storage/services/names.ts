/**
 * Object keys, filenames and content types (API.md §7): the key layout
 * `{app_id}/{user_id|service}/{uuid}_{sanitized filename}`, the allow-list match with `type/*`
 * wildcards, and the `Content-Disposition` a download carries.
 */
import { appIdPattern } from '../../shared/validation.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A key the storage API made: `{app_id}/{user_id|service}/{uuid}_{name}`. */
export const storageKeyPattern = /^(app_[0-9a-z]{12})\/(service|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_[A-Za-z0-9._-]{1,200}$/;

/** Longest sanitized name kept in a key (the original filename is kept in full in the record). */
const maxKeyNameLength = 200;

/** True for a UUID (object ids, user ids). */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

/**
 * The key-safe form of a filename: every character outside `[A-Za-z0-9._-]` becomes `_` (so `/`,
 * `\`, NUL and other controls never reach a key), cut to 200 characters keeping the extension.
 */
export function sanitizeFilename(filename: string): string {
  const safe = [...filename].map((ch) => (/^[A-Za-z0-9._-]$/.test(ch) ? ch : '_')).join('');
  if (safe.length <= maxKeyNameLength) return safe;
  const dot = safe.lastIndexOf('.');
  const extension = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : '';
  return safe.slice(0, maxKeyNameLength - extension.length) + extension;
}

/** The key of a new object. `userId` null = uploaded with the service key. */
export function objectKey(appId: string, userId: string | null, objectId: string, filename: string): string {
  return `${appId}/${userId ?? 'service'}/${objectId}_${sanitizeFilename(filename)}`;
}

/** The app a storage key belongs to, or null when the key is not one the storage API made. */
export function appOfKey(key: string): string | null {
  const match = storageKeyPattern.exec(key);
  return match && appIdPattern.test(match[1]!) ? match[1]! : null;
}

/** `type/subtype` of a Content-Type, lowercased, parameters dropped. */
export function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/** True when `contentType` is allowed by `allowed` (`*∕*`, `image/*`, or an exact `type/subtype`). */
export function contentTypeAllowed(contentType: string, allowed: readonly string[]): boolean {
  const type = mediaType(contentType);
  return allowed.some((pattern) => {
    const entry = pattern.trim().toLowerCase();
    if (entry === '*/*' || entry === '*') return true;
    if (entry.endsWith('/*')) return type.startsWith(entry.slice(0, -1));
    return type === entry;
  });
}

/** Types a browser may render from the download URL; anything else downloads as an attachment. */
const inlineTypes = /^(image\/(png|jpeg|gif|webp|avif|bmp)|video\/[a-z0-9.+-]+|audio\/[a-z0-9.+-]+|application\/pdf|text\/plain)$/;

/**
 * The `Content-Disposition` of a download (RFC 6266): the original filename's last path segment, as
 * a quoted ASCII fallback and as UTF-8 `filename*`. Active content (HTML, SVG, scripts…) is always
 * `attachment`, so a download URL never renders it in the browser.
 */
export function contentDisposition(filename: string, contentType: string): string {
  const base = filename.split(/[\\/]/).filter(Boolean).at(-1) ?? 'file';
  const fallback = [...base].map((ch) => (/^[\x20-\x7e]$/.test(ch) && ch !== '"' && ch !== '\\' && ch !== '%' ? ch : '_')).join('');
  const encoded = encodeURIComponent(base).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  const kind = inlineTypes.test(mediaType(contentType)) ? 'inline' : 'attachment';
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
