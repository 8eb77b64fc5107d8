/**
 * UserObjectHost: hosts user-deployed Durable Object classes (API.md §10.1). Not built yet.
 */
import { DurableObject } from 'cloudflare:workers';

/** One host object per (app, class, instance). */
export class UserObjectHost extends DurableObject {
  override async fetch(): Promise<Response> {
    return new Response('not available', { status: 501 });
  }
}
