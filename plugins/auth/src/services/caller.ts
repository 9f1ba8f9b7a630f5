import { isRole, lowerRole, type ManagerCredentials, type Role } from '@bilbycast/core';
import type { Account, AccountService } from '@bilbycast/users';

/** Whether an account may sign in or act now: active and not past its expiry. */
export function accountUsable(user: Pick<Account, 'is_active' | 'expires_at'>, now = new Date()): boolean {
  return user.is_active && (!user.expires_at || new Date(user.expires_at) > now);
}

/**
 * Builds the request's credentials from the user's current row, so that a changed role,
 * disabled account or narrowed node scope applies on the very next request. Returns null
 * for a missing, disabled or expired account. `cap` lowers the role (API tokens).
 */
export async function loadCallerCredentials(
  accounts: AccountService,
  userId: string,
  method: ManagerCredentials['method'],
  ids: { session_id?: string; token_id?: string; cap?: Role | null }
): Promise<ManagerCredentials | null> {
  const user = await accounts.byId(userId);
  if (!user || !accountUsable(user) || !isRole(user.role)) return null;
  const role = ids.cap ? lowerRole(user.role, ids.cap) : user.role;
  return {
    user: { id: user.id, username: user.username, display_name: user.display_name, email: user.email, role: user.role },
    role,
    allowed_node_ids: user.allowed_node_ids,
    method,
    session_id: ids.session_id,
    token_id: ids.token_id
  };
}
