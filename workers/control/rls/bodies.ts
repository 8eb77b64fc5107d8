/**
 * Request bodies of the RLS routes (API.md §4, §2 POST /secure). Strict: unknown keys are refused.
 * Names are plain strings here and checked by rls/names.ts, so a bad one gets
 * VALIDATION_INVALID_NAME / VALIDATION_RESERVED_TABLE rather than a generic schema error.
 */
import { z } from 'zod';
import { policyCommands } from './sql.ts';

const name = z.string().min(1).max(200);
const expression = z.string().nullish();
/** `select` and `SELECT` both work (MCP agents send either). */
const command = z.preprocess((value) => (typeof value === 'string' ? value.toUpperCase() : value), z.enum(policyCommands));
const role = z.enum(['anon', 'user']);

/** POST /v1/{app}/rls/enable. */
export const enableRlsBody = z.object({ table_name: name }).strict();
export type EnableRlsBody = z.infer<typeof enableRlsBody>;

/** POST /v1/{app}/rls/policies. `command` defaults to ALL; no `role` means anon and user. */
export const createPolicyBody = z.object({
  table_name: name,
  policy_name: name,
  command: command.optional(),
  role: role.nullish(),
  using_expression: expression,
  with_check_expression: expression,
  restrictive: z.boolean().nullish(),
  user_column: name.nullish(),
}).strict();
export type CreatePolicyBody = z.infer<typeof createPolicyBody>;

/** PATCH /v1/{app}/rls/policies/{policy_name}: omitted fields keep the policy's current value. */
export const updatePolicyBody = z.object({
  table_name: name,
  command: command.optional(),
  role: role.nullish(),
  using_expression: expression,
  with_check_expression: expression,
  restrictive: z.boolean().nullish(),
}).strict();
export type UpdatePolicyBody = z.infer<typeof updatePolicyBody>;

/** POST /v1/{app}/rls (user isolation). `user_column` defaults to `user_id` as the SDK assumes. */
export const userIsolationBody = z.object({
  table_name: name,
  user_column: name.default('user_id'),
  public_read_column: name.nullish(),
}).strict();
export type UserIsolationBody = z.infer<typeof userIsolationBody>;

/** POST /v1/{app}/secure: the tables to isolate (optional; the access mode changes either way). */
export const secureAppBody = z.object({
  tables: z.array(userIsolationBody).max(50).optional(),
}).strict();
export type SecureAppBody = z.infer<typeof secureAppBody>;
