/**
 * `/_do/{name}/{instance}` on the app host (API.md §10.1). Not built yet: 501 FEATURE_NOT_AVAILABLE.
 */
import type { AppGate } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';
import { errorResponse } from '../../shared/http.ts';
import type { Principal } from '../../shared/principal.ts';
import type { Env } from '../env.ts';

/** Routes a request to a user Durable Object instance. */
export async function serveDurableObject(_env: Env, request: Request, _app: AppGate, _principal: Principal): Promise<Response> {
  return errorResponse(new ApiError('FEATURE_NOT_AVAILABLE', 'Durable Objects are not available on this deployment yet.'), request.headers.get('x-request-id') ?? 'unknown');
}
