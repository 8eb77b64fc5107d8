/**
 * Neon provisioner: one database per app on a fixed project branch, through Neon's API v2
 * (https://api-docs.neon.tech: POST/DELETE /projects/{project_id}/branches/{branch_id}/databases,
 * GET /projects/{project_id}/operations/{operation_id}). Database changes are asynchronous
 * operations; we wait until each finishes. 423 (another operation is running), 429 and 5xx are
 * retried with backoff; other failures are reported with Neon's HTTP status (its message is logged).
 */
import pRetry, { AbortError } from 'p-retry';
import { ApiError } from '../../shared/errors.ts';
import { databaseRetryAfterSeconds } from '../../shared/pg-errors.ts';
import type { Provisioner } from './provisioner.ts';

/** Settings for {@link NeonProvisioner}. */
export interface NeonProvisionerOptions {
  apiUrl: string;
  apiKey: string;
  projectId: string;
  branchId: string;
  /** The Neon role that owns app databases (the role in APP_DATABASE_URL_TEMPLATE). */
  ownerRole: string;
  /** Poll interval while an operation runs. Default 500 ms. */
  pollIntervalMs?: number;
  /** Give up waiting for an operation after this long. Default 60 000 ms. */
  operationTimeoutMs?: number;
}

interface NeonOperation {
  id: string;
  status: string;
  error?: string;
}

const retryableStatuses = new Set([423, 429, 500, 502, 503, 504]);
const finishedStatuses = new Set(['finished', 'skipped']);
const failedStatuses = new Set(['failed', 'error', 'cancelled']);

class NeonHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** {@link Provisioner} over Neon's API v2 (see the top of this file). */
export class NeonProvisioner implements Provisioner {
  readonly kind = 'neon';

  constructor(private readonly options: NeonProvisionerOptions) {}

  async createDatabase(name: string): Promise<void> {
    const path = `/projects/${this.options.projectId}/branches/${this.options.branchId}/databases`;
    try {
      const body = await this.#call('POST', path, { database: { name, owner_name: this.options.ownerRole } });
      await this.#waitFor((body as { operations?: NeonOperation[] }).operations ?? []);
    } catch (error) {
      // Neon answers 409 when the database exists: a resumed provisioning continues.
      if (error instanceof NeonHttpError && error.status === 409) return;
      throw this.#wrap('create', error);
    }
  }

  async dropDatabase(name: string): Promise<void> {
    const path = `/projects/${this.options.projectId}/branches/${this.options.branchId}/databases/${encodeURIComponent(name)}`;
    try {
      const body = await this.#call('DELETE', path);
      await this.#waitFor((body as { operations?: NeonOperation[] }).operations ?? []);
    } catch (error) {
      if (error instanceof NeonHttpError && error.status === 404) return;
      throw this.#wrap('drop', error);
    }
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    return pRetry(
      async () => {
        const response = await fetch(`${this.options.apiUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.options.apiKey}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        if (response.ok) return text ? JSON.parse(text) : {};
        const message = neonMessage(text) ?? `HTTP ${response.status}`;
        const error = new NeonHttpError(response.status, message);
        if (retryableStatuses.has(response.status)) throw error;
        throw new AbortError(error);
      },
      // p-retry rethrows an AbortError's original error, so callers see the NeonHttpError.
      { retries: 4, minTimeout: 200, maxTimeout: 2_000 },
    );
  }

  async #waitFor(operations: NeonOperation[]): Promise<void> {
    const deadline = Date.now() + (this.options.operationTimeoutMs ?? 60_000);
    for (const operation of operations) {
      let current = operation;
      while (!finishedStatuses.has(current.status)) {
        if (failedStatuses.has(current.status)) {
          throw new NeonHttpError(500, `Neon operation ${current.id} ${current.status}${current.error ? `: ${current.error}` : ''}`);
        }
        if (Date.now() > deadline) throw new NeonHttpError(504, `Neon operation ${current.id} did not finish in time`);
        await new Promise((resolve) => setTimeout(resolve, this.options.pollIntervalMs ?? 500));
        const body = await this.#call('GET', `/projects/${this.options.projectId}/operations/${current.id}`);
        current = (body as { operation: NeonOperation }).operation;
      }
    }
  }

  /** Neon's own message stays internal (it can name projects and branches); callers see the HTTP status. */
  #wrap(action: string, error: unknown): ApiError {
    const message = error instanceof Error ? error.message : String(error);
    const status = error instanceof NeonHttpError ? error.status : 0;
    const retry = { 'retry-after': String(databaseRetryAfterSeconds) };
    if (status === 0) {
      return new ApiError('EXTERNAL_NETWORK_ERROR', `Neon's API could not be reached to ${action} the app database.`, {
        internal: `neon ${action} failed (no response): ${message}`, headers: retry,
      });
    }
    return new ApiError('EXTERNAL_DB_ERROR', `Neon could not ${action} the app database (HTTP ${status}).`, {
      internal: `neon ${action} failed (HTTP ${status}): ${message}`, headers: retry,
    });
  }
}

function neonMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return text.slice(0, 200) || undefined;
  }
}
