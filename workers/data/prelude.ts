/**
 * The opening statements of every DbGateway batch (DESIGN.md "Data"): a pure module, so benchmarks and
 * tests can build exactly the batch the gateway sends.
 */
import type { DbCaller, SqlStatement } from '../shared/contracts.ts';

const roleNames = { anon: 'butterbase_anon', user: 'butterbase_user', service: 'butterbase_service' } as const;

/**
 * The statement that opens every caller batch: one SELECT that switches to the caller's role
 * (`set_config('role', …, true)` is `SET LOCAL ROLE` through the same GUC, with the same membership
 * check; PostgREST opens its transactions the same way) and sets the request GUCs
 * (`request.jwt.claim.sub`, `request.jwt.claims`, `app.role`), all local to the transaction. One
 * statement rather than two: each costs a round of the extended protocol on Neon and locally.
 * Out: the statements to put first in the batch (their results are not the caller's).
 */
export function rolePrelude(caller: DbCaller): SqlStatement[] {
  const role = roleNames[caller.role];
  const claims = JSON.stringify({ sub: caller.userId ?? null, role });
  return [
    {
      query: `SELECT set_config('role', $1, true), set_config('request.jwt.claim.sub', $2, true), set_config('request.jwt.claims', $3, true), set_config('app.role', $4, true)`,
      params: [role, caller.userId ?? '', claims, caller.role],
    },
  ];
}
