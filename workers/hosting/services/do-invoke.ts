/**
 * ctx.invokeDO (API.md §8.3 "invokeDO(class, instanceKey, body?, opts?)": a same-app Durable Object
 * call) on the hosting side: the functions Worker's `DURABLE_OBJECTS` binding reaches the `DoInvoker`
 * entrypoint (workers/hosting/index.ts), which runs this. The class lookup, host headers, host-object
 * fetch and usage counting are the `/_do/{name}/{instance}` edge's own (routes/durable-objects-edge.ts),
 * with the app fixed to the calling function's. The class sees the request at its public URL
 * `{site}/_do/{name}/{instance}{path}`, with `x-butterbase-caller` (`fn:<function>`, or `do:<name>:<instance>`
 * when a class called through `butterbase.ctx`),
 * `x-butterbase-loop-depth` and, when the invocation has an end user, `x-butterbase-user-id`.
 */
import { eq } from 'drizzle-orm';
import { controlDb } from '../../shared/control-db.ts';
import { apps } from '../../shared/control-schema.ts';
import { maxDurableObjectBodyBytes, type DurableObjectCall } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { siteUrl } from '../caller.ts';
import { callerHeader, forwardToInstance, liveClass, loopDepthHeader, userIdHeader } from '../routes/durable-objects-edge.ts';

const methodPattern = /^[A-Z]{1,16}$/;
const maxInstanceChars = 256;
const maxPathChars = 2048;

function invalid(message: string, details?: Record<string, unknown>): ApiError {
  return new ApiError('VALIDATION_INVALID_SCHEMA', message, {
    remediation: 'Call ctx.invokeDO("class-name", "instance-key", body?, { method?, path?, headers? }) with a kebab-case class name, an instance key of 1–256 characters, a path starting with "/" or "?", string header values and a JSON body of at most 1 MiB.',
    details,
  });
}

/**
 * Runs one ctx.invokeDO call against instance `call.instance` of class `call.name` of app `call.appId`.
 * Out: the class's Response (status, headers, body as the class answered).
 * @throws ApiError RESOURCE_NOT_FOUND (no class of that name in this app — another app's classes are
 *   never looked at), STATE_PREREQUISITE_MISSING (the class has no deploy that constructed: status
 *   PENDING, BUILDING or ERROR, with its error_message), VALIDATION_INVALID_SCHEMA (instance key, method,
 *   path or headers malformed; body over {@link maxDurableObjectBodyBytes} bytes), INTERNAL_ERROR (the
 *   class's fetch threw: the message names the class, the instance and what it threw)
 */
export async function invokeDurableObject(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>, call: DurableObjectCall): Promise<Response> {
  const { appId, name, instance } = call;
  if (typeof name !== 'string' || name === '' || name.length > 63) {
    throw new ApiError('RESOURCE_NOT_FOUND', `No Durable Object "${String(name)}" is deployed for this app.`, { remediation: 'Pass the class\'s kebab-case name (chat-room), as listed by GET /v1/{app_id}/durable-objects.' });
  }
  if (typeof instance !== 'string' || instance.length === 0 || instance.length > maxInstanceChars) {
    throw invalid(`ctx.invokeDO needs an instance key of 1–${maxInstanceChars} characters.`, { field: 'instance' });
  }
  const method = String(call.method ?? 'POST').toUpperCase();
  if (!methodPattern.test(method)) throw invalid(`"${method}" is not an HTTP method.`, { field: 'method' });
  const path = String(call.path ?? '');
  if (path.length > maxPathChars || (path !== '' && !path.startsWith('/') && !path.startsWith('?'))) {
    throw invalid(`The path must be empty or start with "/" or "?" (at most ${maxPathChars} characters).`, { field: 'path' });
  }
  const body = call.body ?? null;
  const bytes = body === null ? 0 : new TextEncoder().encode(body).byteLength;
  if (bytes > maxDurableObjectBodyBytes) {
    throw invalid(`The ctx.invokeDO body is ${bytes} bytes; at most ${maxDurableObjectBodyBytes} are allowed.`, { field: 'body', bytes, max_bytes: maxDurableObjectBodyBytes });
  }
  const headers = new Headers();
  for (const [key, value] of Object.entries(call.headers ?? {})) {
    const lower = key.toLowerCase();
    if (lower.startsWith('x-bb-') || lower.startsWith('x-butterbase-') || lower === 'host' || lower === 'content-length' || lower === 'upgrade') continue;
    try {
      headers.set(key, String(value));
    } catch {
      throw invalid(`The header "${key}" is not a valid HTTP header.`, { field: 'headers', header: key });
    }
  }
  if (body !== null && !headers.has('content-type')) headers.set('content-type', 'application/json');
  if (call.userId) headers.set(userIdHeader, call.userId);
  headers.set(callerHeader, call.caller);
  headers.set(loopDepthHeader, String(call.depth));

  const [row, app] = await Promise.all([
    liveClass(env, appId, name),
    controlDb(env).select({ subdomain: apps.subdomain }).from(apps).where(eq(apps.id, appId)).then((rows) => rows[0]),
  ]);
  if (!app) throw new ApiError('APP_NOT_FOUND', 'The calling function\'s app no longer exists.');
  let url: URL;
  try {
    url = new URL(`${siteUrl(env, app)}/_do/${row.name}/${encodeURIComponent(instance)}${path}`);
  } catch {
    throw invalid('The path does not make a valid URL.', { field: 'path' });
  }
  const request = new Request(url, { method, headers, body: method === 'GET' || method === 'HEAD' ? null : body });
  try {
    return await forwardToInstance(env, ctx, appId, row, instance, request);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    // The class's fetch threw (or its isolate failed): the calling function gets the class's own message.
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new ApiError('INTERNAL_ERROR', `The Durable Object "${row.name}" (instance "${instance}") threw: ${message}`, {
      remediation: 'Fix the class\'s fetch handler (it must return a Response) and deploy it again.',
      details: { name: row.name, instance },
      internal: message,
    });
  }
}
