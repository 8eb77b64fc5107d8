/**
 * The router Worker's module (root wrangler.toml `main`): the request and tick handler of
 * handler.ts, and the RateLimiter Durable Object class it hosts. handler.ts imports no
 * `cloudflare:workers`, so the router also runs in-process in tests (test/helpers/in-process.ts).
 */
export { RateLimiter } from '../../durable-objects/rate-limiter.ts';
export { default } from './handler.ts';
