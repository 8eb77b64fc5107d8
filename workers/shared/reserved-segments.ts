/**
 * The reserved path segments of `/v1/{app_id}/{segment}` (API.md §1.1 path families): one list, read
 * by the router (which Worker serves a segment, and whether the pause gate applies) and by the schema
 * DSL (no table may be named like a segment, or the REST API could never reach it).
 */
import type { WorkerName } from '../registry.ts';

/** Who serves a reserved segment. */
export interface ReservedSegment {
  /** The feature, as named in errors ("The functions API is not available…"). */
  feature: string;
  /** The Worker that serves it, or null while the feature is not built (the router answers 501). */
  worker: WorkerName | null;
  /**
   * True for the data plane: paused apps get 503 APP_PAUSED there (API.md §1.2 "Gates"). A function
   * decides per path from the segments after this one (e.g. realtime: the WebSocket is data plane,
   * its owner config routes are not).
   */
  dataPlane: boolean | ((rest: readonly string[]) => boolean);
}

const control = (feature: string): ReservedSegment => ({ feature, worker: 'control', dataPlane: false });
const auth = (feature: string): ReservedSegment => ({ feature, worker: 'auth', dataPlane: false });
const realtime: ReservedSegment = { feature: 'realtime', worker: 'realtime', dataPlane: (rest) => rest.length === 0 };
const hosting = (feature: string): ReservedSegment => ({ feature, worker: 'hosting', dataPlane: false });
const unbuilt = (feature: string, dataPlane: boolean): ReservedSegment => ({ feature, worker: null, dataPlane });

/** Every reserved segment. A new feature flips its entry from `unbuilt` to its Worker. */
export const reservedSegments: Readonly<Record<string, ReservedSegment>> = {
  schema: control('schema'),
  migrations: control('schema'),
  rls: control('rls'),
  config: control('config'),
  secure: control('rls'),
  env: control('env'),
  'audit-logs': control('audit-logs'),
  auth: auth('auth'),
  admin: auth('auth'),
  functions: { feature: 'functions', worker: 'functions', dataPlane: false },
  fn: { feature: 'functions', worker: 'functions', dataPlane: true },
  webhook: { feature: 'functions', worker: 'functions', dataPlane: true },
  realtime,
  frontend: hosting('frontend'),
  'edge-ssr': hosting('edge-ssr'),
  'durable-objects': hosting('durable-objects'),
  'custom-domains': hosting('custom-domains'),
  rag: unbuilt('rag', true),
  kv: unbuilt('kv', true),
  chat: unbuilt('ai', true),
  embeddings: unbuilt('ai', true),
  ai: unbuilt('ai', true),
  videos: unbuilt('ai', true),
  images: unbuilt('ai', true),
  billing: unbuilt('billing', false),
  partners: unbuilt('partners', false),
  integrations: unbuilt('integrations', false),
  agents: unbuilt('agents', false),
  repo: unbuilt('repo', false),
};

/** The reserved segment `name`, or undefined when `name` is free (a table name). */
export function reservedSegment(name: string): ReservedSegment | undefined {
  return Object.hasOwn(reservedSegments, name) ? reservedSegments[name] : undefined;
}

/** Whether `/v1/{app}/{segment}/{...rest}` is data plane (see {@link ReservedSegment.dataPlane}). */
export function isDataPlane(segment: ReservedSegment, rest: readonly string[]): boolean {
  return typeof segment.dataPlane === 'function' ? segment.dataPlane(rest) : segment.dataPlane;
}
