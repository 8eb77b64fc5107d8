/**
 * RPC results across service bindings. Thrown errors lose their class and fields when they cross a
 * Worker boundary, so RPC methods return `RpcResult` and callers `unwrap` it back into an ApiError.
 */
import { ApiError, toApiError, type ApiErrorWire } from './errors.ts';

export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: ApiErrorWire };

/** Runs `work` and captures any failure as a wire error. Internal detail is logged here, not sent. */
export async function rpcResult<T>(work: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    const apiError = toApiError(error);
    if (apiError.internal) console.error(`[rpc] ${apiError.code}: ${apiError.internal}`);
    return { ok: false, error: apiError.toWire() };
  }
}

/** Returns the value or throws the ApiError the callee raised. */
export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  throw ApiError.fromWire(result.error);
}
