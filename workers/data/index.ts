/**
 * The data Worker: the auto-generated REST API over app tables (API.md §5) and the DbGateway RPC
 * entrypoint (the only path to an app database).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { Hono } from 'hono';
import { onError, onNotFound } from '../shared/http.ts';
import type { Env } from './env.ts';
import { restRoutes } from './routes/rest.ts';

export { DbGateway, DbOwner } from './gateway.ts';

const app = new Hono<{ Bindings: Env }>();
app.route('/', restRoutes);
app.onError(onError);
app.notFound(onNotFound);

export default class DataWorker extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(app.fetch(request, this.env, this.ctx));
  }
}
