/**
 * Body of POST /init (API.md §2), shared by the REST route and the MCP tool `init_app`.
 */
import { z } from 'zod';

/** A subdomain label: lowercase letters, digits and inner hyphens. */
export const subdomainPattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The fields, each with its rule (strict: only these). */
export const initAppBody = z.object({
  name: z.string().min(1).max(63).regex(/^[a-z0-9][a-z0-9_-]*$/, 'must start with a lowercase letter or digit and contain only a-z, 0-9, "_" and "-"'),
  subdomain: z.string().min(1).max(63).regex(subdomainPattern, 'must be lowercase letters, digits and inner hyphens').optional(),
  region: z.string().min(1).max(40).optional(),
  organization_id: z.string().max(100).optional(),
}).strict();
export type InitAppBody = z.infer<typeof initAppBody>;
