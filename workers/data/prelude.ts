/**
 * The opening statements of every DbGateway batch (DESIGN.md "Data"): a pure module, so benchmarks and
 * tests can build exactly the batch the gateway sends.
 */
import type { DbCaller, SqlStatement } from '../shared/contracts.ts';

const roleNames = { anon: 'butterbase_anon', user: 'butterbase_user', service: 'butterbase_service' } as const;

/**
 * The statements that open every caller batch: switch to the caller's role and set the request
 * GUCs (`request.jwt.claim.sub`, `request.jwt.claims`, `app.role`).
 */
export function rolePrelude(caller: DbCaller): SqlStatement[] {
  const claims = JSON.stringify({ sub: caller.userId ?? null, role: roleNames[caller.role] });
  return [
    { query: `SET LOCAL ROLE ${roleNames[caller.role]}`, params: [] },
    {
      query: `SELECT set_config('request.jwt.claim.sub', $1, true), set_config('request.jwt.claims', $2, true), set_config('app.role', $3, true)`,
      params: [caller.userId ?? '', claims, caller.role],
    },
  ];
}

