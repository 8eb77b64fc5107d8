/**
 * The data Worker: the auto-generated REST API over app tables (API.md §5, routes in app.ts) and the
 * DbGateway RPC entrypoint (the only path to an app database).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { dataApp } from './app.ts';
import type { Env } from './env.ts';

export { DbGateway, DbOwner } from './gateway.ts';

export default class DataWorker extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(dataApp.fetch(request, this.env, this.ctx));
  }
}
