/**
 * Calls on the R2 binding from the storage API, with failures mapped to the §1.4 codes: the
 * multipart errors a caller can fix (an unknown part, a part too small, no such upload) to 400/404,
 * anything else to 503 S3_ERROR with Retry-After (API.md §7: transient, retry).
 */
import { ApiError } from '../../shared/errors.ts';

/** The R2 error code in a binding error's message, e.g. "completeMultipartUpload: … (10025)". */
function r2Code(error: unknown): string | undefined {
  return /\((\d{5})\)/.exec(String((error as Error)?.message ?? error))?.[1];
}

/**
 * Runs one R2 operation (`what` names it in the message).
 * @throws ApiError VALIDATION_INVALID_SCHEMA (a part that was never uploaded, or whose ETag does not
 *   match; parts too small; non-trailing parts of different sizes), RESOURCE_NOT_FOUND (no such
 *   multipart upload), S3_ERROR for any other failure
 */
export async function r2<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    switch (r2Code(error)) {
      case '10025':
        throw new ApiError('VALIDATION_INVALID_SCHEMA', 'A part is missing or its ETag does not match what was uploaded.', {
          remediation: 'Send each part\'s number with the ETag header its PUT answered; re-upload any part whose PUT failed.',
          details: { r2_code: '10025' },
        });
      case '10011':
      case '10048':
        throw new ApiError('VALIDATION_INVALID_SCHEMA', 'Every part but the last must be exactly partSizeBytes long.', {
          remediation: 'Upload each part with the size the part list gives (parts[].sizeBytes).',
          details: { r2_code: r2Code(error) },
        });
      case '10024':
        throw new ApiError('RESOURCE_NOT_FOUND', 'The multipart upload no longer exists (completed, aborted or expired).', {
          remediation: 'Start a new upload with POST /storage/{app_id}/uploads.',
        });
      default:
        throw new ApiError('S3_ERROR', `The object store failed to ${what}.`, { internal: String(error), headers: { 'retry-after': '5' } });
    }
  }
}
