/**
 * Reading a deployment zip safely (API.md §10.2; the checks the hosting issue lists). The central
 * directory is read with unzipit (random access through a {@link Reader}, so a 100 MB zip in R2 is
 * never loaded whole); every entry is checked before a byte is inflated, and unzipit's inflater stops
 * at the declared size, so a lying entry fails instead of growing without bound.
 *
 * Refused, each with its own {@link ArchiveProblem}: paths that escape the site (`../`, absolute,
 * drive letters, backslashes, NUL or control characters), symlinks and other special files,
 * encrypted entries, compression other than stored/deflate, duplicate paths, more than `maxFiles`
 * files, a file above `maxFileBytes`, more than `maxTotalBytes` in all, a compression ratio above
 * `maxRatio` (zip bombs), and an entry whose inflated size differs from the size it declares.
 */
import { unzipRaw, type Reader, type ZipEntry } from 'unzipit';

/** Why an archive was refused (a closed union: the route maps each to a message). */
export type ArchiveProblem =
  | 'not_a_zip'
  | 'empty'
  | 'unsafe_path'
  | 'symlink'
  | 'special_file'
  | 'encrypted'
  | 'unsupported_compression'
  | 'duplicate_path'
  | 'too_many_files'
  | 'file_too_large'
  | 'too_large'
  | 'compression_ratio'
  | 'size_mismatch';

/** A refused archive: `problem` is stable, `message` names the entry and the limit. */
export class ArchiveError extends Error {
  constructor(readonly problem: ArchiveProblem, message: string, readonly entry?: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/** Limits an archive must stay within. */
export interface ArchiveLimits {
  maxFiles: number;
  /** Largest single file after inflating, bytes. */
  maxFileBytes: number;
  /** All files together after inflating, bytes. */
  maxTotalBytes: number;
  /** Largest inflated/compressed ratio of an entry above 1 MiB, and of the whole archive. */
  maxRatio: number;
}

/** Cloudflare Pages' limits (20 000 files, 25 MiB per file), 500 MiB in all, ratio 200:1. */
export const defaultArchiveLimits: ArchiveLimits = {
  maxFiles: 20_000,
  maxFileBytes: 25 * 1024 * 1024,
  maxTotalBytes: 500 * 1024 * 1024,
  maxRatio: 200,
};

/** One regular file of a checked archive. */
export interface ArchiveFile {
  /** Site path without a leading slash, `/`-separated (`assets/index-1a2b3c4d.js`). */
  path: string;
  sizeBytes: number;
  /** The inflated bytes. @throws ArchiveError `size_mismatch` when the entry lied about its size or is corrupt. */
  read(): Promise<Uint8Array>;
}

const unixHost = 3;
const fileTypeMask = 0o170000;
const regularFile = 0o100000;
const directoryType = 0o040000;
const symlinkType = 0o120000;

/**
 * Lists and checks every entry of a zip. A single top-level folder holding `index.html` (a zip of
 * `dist/` rather than of its contents) is stripped, so the site root is where `index.html` is.
 * @throws ArchiveError for the first problem found (see the module comment)
 */
export async function readArchive(source: Reader | Uint8Array, limits: ArchiveLimits = defaultArchiveLimits): Promise<ArchiveFile[]> {
  let entries: ZipEntry[];
  try {
    entries = (await unzipRaw(source)).entries;
  } catch (error) {
    throw new ArchiveError('not_a_zip', `The upload is not a readable zip archive (${error instanceof Error ? error.message : String(error)}).`);
  }
  const files: { path: string; entry: ZipEntry }[] = [];
  const seen = new Set<string>();
  let totalBytes = 0;
  let totalCompressed = 0;
  for (const entry of entries) {
    const name = entry.name;
    checkPath(name);
    const mode = (entry.versionMadeBy >> 8) === unixHost ? (entry.externalFileAttributes >>> 16) & fileTypeMask : 0;
    if (mode === symlinkType) throw new ArchiveError('symlink', `"${name}" is a symbolic link; links are not allowed in a site archive (zip without -y).`, name);
    if (entry.isDirectory || name.endsWith('/') || mode === directoryType) continue;
    if (mode !== 0 && mode !== regularFile) throw new ArchiveError('special_file', `"${name}" is not a regular file.`, name);
    if (entry.encrypted) throw new ArchiveError('encrypted', `"${name}" is encrypted; upload an unencrypted zip.`, name);
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw new ArchiveError('unsupported_compression', `"${name}" uses compression method ${entry.compressionMethod}; only stored and deflate are supported.`, name);
    }
    if (seen.has(name)) throw new ArchiveError('duplicate_path', `"${name}" appears twice in the archive.`, name);
    seen.add(name);
    if (seen.size > limits.maxFiles) throw new ArchiveError('too_many_files', `The archive has more than ${limits.maxFiles} files.`);
    if (entry.size > limits.maxFileBytes) {
      throw new ArchiveError('file_too_large', `"${name}" is ${entry.size} bytes; a file may be at most ${limits.maxFileBytes} bytes.`, name);
    }
    if (entry.size > 1024 * 1024 && entry.size / Math.max(entry.compressedSize, 1) > limits.maxRatio) {
      throw new ArchiveError('compression_ratio', `"${name}" inflates ${Math.round(entry.size / Math.max(entry.compressedSize, 1))}:1, above the ${limits.maxRatio}:1 limit (zip bomb).`, name);
    }
    totalBytes += entry.size;
    totalCompressed += entry.compressedSize;
    if (totalBytes > limits.maxTotalBytes) throw new ArchiveError('too_large', `The archive inflates to more than ${limits.maxTotalBytes} bytes.`);
    files.push({ path: name, entry });
  }
  if (totalBytes > 1024 * 1024 && totalBytes / Math.max(totalCompressed, 1) > limits.maxRatio) {
    throw new ArchiveError('compression_ratio', `The archive inflates ${Math.round(totalBytes / Math.max(totalCompressed, 1))}:1, above the ${limits.maxRatio}:1 limit (zip bomb).`);
  }
  if (files.length === 0) throw new ArchiveError('empty', 'The archive contains no files.');
  const prefix = strippablePrefix(files.map((f) => f.path));
  return files.map(({ path, entry }) => ({
    path: path.slice(prefix.length),
    sizeBytes: entry.size,
    read: () => inflated(entry),
  }));
}

/** Refuses names that could land outside the site or that no URL could name. */
function checkPath(name: string): void {
  const refuse = (why: string) => new ArchiveError('unsafe_path', `"${name}" ${why}.`, name);
  if (name.length === 0 || name.length > 1024) throw refuse('is not a usable path');
  if (name.includes('\\')) throw refuse('contains a backslash (re-zip with / separators, e.g. zip -r from Git Bash or WSL)');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw refuse('is an absolute path');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw refuse('contains a control character');
  const segments = name.replace(/\/$/, '').split('/');
  if (segments.some((s) => s === '..')) throw refuse('climbs out of the site (../)');
  if (segments.some((s) => s === '' || s === '.')) throw refuse('has an empty or "." segment');
}

/** `dist/` when every file is under `dist/` and `dist/index.html` exists but `index.html` does not. */
function strippablePrefix(paths: string[]): string {
  if (paths.includes('index.html')) return '';
  const first = paths[0]!.split('/')[0]!;
  const prefix = `${first}/`;
  return paths.every((p) => p.startsWith(prefix)) && paths.includes(`${prefix}index.html`) ? prefix : '';
}

async function inflated(entry: ZipEntry): Promise<Uint8Array> {
  try {
    return new Uint8Array(await entry.arrayBuffer());
  } catch (error) {
    throw new ArchiveError('size_mismatch', `"${entry.name}" does not inflate to the ${entry.size} bytes it declares (${error instanceof Error ? error.message : String(error)}).`, entry.name);
  }
}
