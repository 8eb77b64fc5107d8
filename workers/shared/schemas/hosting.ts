/**
 * Request bodies of the hosting routes (API.md §10), shared by the REST routes and the MCP tools
 * (STYLE.md "One source for each fact").
 */
import { z } from 'zod';

/** Frameworks of a static frontend deployment (API.md §10.2); SPA ones get the `_redirects` fallback. */
export const frontendFrameworks = ['react-vite', 'nextjs-static', 'static', 'other'] as const;
export type FrontendFramework = (typeof frontendFrameworks)[number];

/** POST /v1/{app_id}/frontend/deployments. */
export const createFrontendDeploymentBody = z.strictObject({ framework: z.enum(frontendFrameworks).default('static') });
export type CreateFrontendDeploymentBody = z.infer<typeof createFrontendDeploymentBody>;

/** Frameworks of an Edge SSR deployment (API.md §10.3); any Pages advanced-mode bundle (`_worker.js` + assets) is `other-edge`. */
export const edgeSsrFrameworks = ['nextjs-edge', 'remix-edge', 'other-edge'] as const;
export type EdgeSsrFramework = (typeof edgeSsrFrameworks)[number];

/** POST /v1/{app_id}/edge-ssr/deployments. */
export const createEdgeSsrDeploymentBody = z.strictObject({ framework: z.enum(edgeSsrFrameworks).default('nextjs-edge') });
export type CreateEdgeSsrDeploymentBody = z.infer<typeof createEdgeSsrDeploymentBody>;

/** An env var name of a frontend (build-time) or Durable Object env. */
export const envKeyPattern = /^[A-Z_][A-Z0-9_]*$/;

/** PUT/PATCH /v1/{app_id}/frontend/env: a flat `{ KEY: "value" }`, at least one, values non-empty. */
export const frontendEnvBody = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an env var name (letters, digits, _; not starting with a digit)').max(128),
  z.string().min(1, 'must not be empty').max(32 * 1024),
).refine((vars) => Object.keys(vars).length > 0, { message: 'send at least one variable' });
export type FrontendEnvBody = z.infer<typeof frontendEnvBody>;

/** Durable Object URL names: kebab-case (API.md §10.1). */
export const durableObjectNamePattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Access modes of a user Durable Object (API.md §10.1). */
export const durableObjectAccessModeValues = ['public', 'authenticated', 'service_key'] as const;

/** POST /v1/{app_id}/durable-objects (the name is checked separately for NAME_REGEX_VIOLATION). */
export const deployDurableObjectBody = z.strictObject({
  name: z.string().min(1),
  code: z.string().min(1),
  access_mode: z.enum(durableObjectAccessModeValues).default('authenticated'),
});
export type DeployDurableObjectBody = z.infer<typeof deployDurableObjectBody>;

/** PUT /v1/{app_id}/durable-objects/env/{KEY}. */
export const durableObjectEnvBody = z.strictObject({ value: z.string().max(32 * 1024) });

/** POST /v1/{app_id}/custom-domains. */
export const addCustomDomainBody = z.strictObject({
  hostname: z.string().min(1).max(253),
  validation_method: z.enum(['http', 'txt']).default('http'),
});
export type AddCustomDomainBody = z.infer<typeof addCustomDomainBody>;
