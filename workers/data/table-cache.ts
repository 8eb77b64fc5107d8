/**
 * Per-isolate cache of each app's table catalog (workers/shared/catalog.ts), so a data request costs
 * one database round trip, not two. Entries live `ttlMs` (5 s). A lookup that misses a table or
 * column reloads once before the caller answers 404/400, so a table created a moment ago is served
 * at once (API.md §5 warns of a ~5 s delay on the reference server; here there is none). Concurrent
 * loads of one app share a single query.
 */
import type { CatalogTable } from '../shared/catalog.ts';

/** Loads every table of one app database; `context` is whatever the loader needs (e.g. the Worker env). */
export type CatalogLoader<C> = (appId: string, context: C) => Promise<Map<string, CatalogTable>>;

/** A cached catalog. */
export interface CatalogSnapshot {
  tables: Map<string, CatalogTable>;
  loadedAtMs: number;
  /** Orders loads against lookups: a load with a higher tick was started after a lookup with a lower one. */
  tick: number;
}

/** Options of {@link TableCache}. */
export interface TableCacheOptions {
  /** How long a snapshot is trusted without a miss (ms). Default 5000. */
  ttlMs?: number;
  /** Most apps kept; the least recently loaded is dropped first. Default 500. */
  maxApps?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/** The cache; `C` is the loader's context type. */
export class TableCache<C> {
  private readonly snapshots = new Map<string, CatalogSnapshot>();
  private readonly loading = new Map<string, { tick: number; promise: Promise<CatalogSnapshot> }>();
  private tick = 0;
  private readonly ttlMs: number;
  private readonly maxApps: number;
  private readonly now: () => number;

  constructor(private readonly load: CatalogLoader<C>, options: TableCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.maxApps = options.maxApps ?? 500;
    this.now = options.now ?? Date.now;
  }

  /**
   * Finds `name` in the app's catalog. When the table is missing, or `isStale(table)` says the
   * snapshot lacks something the request needs (e.g. a column), and the snapshot was loaded before
   * this call began, the catalog is reloaded once and looked up again.
   * @returns the table, or undefined when the app has no such table.
   * @throws whatever the loader throws (ApiError from DbGateway).
   */
  async table(appId: string, name: string, context: C, isStale: (table: CatalogTable) => boolean = () => false): Promise<CatalogTable | undefined> {
    const startedTick = ++this.tick;
    let snapshot = await this.current(appId, context);
    let table = snapshot.tables.get(name);
    if ((!table || isStale(table)) && snapshot.tick < startedTick) {
      snapshot = await this.reload(appId, context, startedTick);
      table = snapshot.tables.get(name);
    }
    return table;
  }

  /** Forgets an app's catalog (e.g. after Postgres reported a table or column the cache still had). */
  invalidate(appId: string): void {
    this.snapshots.delete(appId);
  }

  private current(appId: string, context: C): Promise<CatalogSnapshot> {
    const cached = this.snapshots.get(appId);
    if (cached && this.now() - cached.loadedAtMs < this.ttlMs) return Promise.resolve(cached);
    return this.reload(appId, context, 0);
  }

  /** Joins a load started at or after `minTick`, or starts one. */
  private reload(appId: string, context: C, minTick: number): Promise<CatalogSnapshot> {
    const inFlight = this.loading.get(appId);
    if (inFlight && inFlight.tick >= minTick) return inFlight.promise;
    const tick = ++this.tick;
    const promise = (async () => {
      try {
        const snapshot: CatalogSnapshot = { tables: await this.load(appId, context), loadedAtMs: this.now(), tick };
        const cached = this.snapshots.get(appId);
        if (!cached || cached.tick < tick) {
          this.snapshots.delete(appId);
          this.snapshots.set(appId, snapshot);
          if (this.snapshots.size > this.maxApps) this.snapshots.delete(this.snapshots.keys().next().value!);
        }
        return snapshot;
      } finally {
        if (this.loading.get(appId)?.tick === tick) this.loading.delete(appId);
      }
    })();
    this.loading.set(appId, { tick, promise });
    return promise;
  }
}
