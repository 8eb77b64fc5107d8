/**
 * The MCP Worker: Streamable HTTP at /mcp and its protected-resource metadata (API.md §13). Every tool
 * call goes back through the router as the REST request an SDK would send — no business logic lives here.
 */
import { Hono } from 'hono';
import { onError, onNotFound } from '../shared/http.ts';
import type { Env } from './env.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { protectedResourceRoutes } from './routes/protected-resource.ts';

const app = new Hono<{ Bindings: Env }>();
app.route('/', mcpRoutes);
app.route('/', protectedResourceRoutes);
app.onError(onError);
app.notFound(onNotFound);

export default app;
