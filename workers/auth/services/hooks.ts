/**
 * The post-auth hook (API.md §6): after signup, login, OAuth login and magic-link login the functions
 * Worker runs the app's hook function, after the response (`waitUntil`), as `butterbase_service`.
 * Whether a hook is configured is the functions Worker's concern; failures are logged, never shown.
 */
import type { AuthHookEvent } from '../../shared/contracts.ts';
import type { AuthCall } from '../http.ts';
import type { UserRow } from './users.ts';

/** Fires the hook for `event` without delaying or failing the response. */
export function fireAuthHook(call: AuthCall, event: AuthHookEvent, user: UserRow, isNewUser: boolean, provider: string): void {
  const functions = call.env.FUNCTIONS;
  if (!functions) return;
  call.waitUntil(functions.runAuthHook({
    appId: call.app.id,
    event,
    user: { id: user.id, email: user.email, provider: user.provider, display_name: user.display_name, avatar_url: user.avatar_url },
    isNewUser,
    provider,
  }).then((result) => {
    if (!result.ok) console.error(`[auth] ${event} hook of ${call.app.id} failed: ${result.error.code} ${result.error.message}`);
    else if (result.value.ran && (result.value.status ?? 500) >= 400) console.error(`[auth] ${event} hook of ${call.app.id} answered ${result.value.status}`);
  }).catch((error: unknown) => console.error(`[auth] ${event} hook of ${call.app.id} failed: ${String(error)}`)));
}
