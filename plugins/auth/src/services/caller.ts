import { fromDbBoolean, isRole, lowerRole, parseJsonColumn, type ManagerCredentials, type Role } from '@bilbycast/core';
import type { Knex } from 'knex';
import type { AccountRow } from './account-view';

/** Whether an account may sign in or act now: active and not past its expiry. */
export function accountUsable(user: Pick<AccountRow, 'is_active' | 'expires_at'>, now = new Date()): boolean {
  return fromDbBoolean(user.is_active) && (!user.expires_at || new Date(user.expires_at) > now);
}

/**
 * Builds the request's credentials from the user's current row, so that a changed role,
 * disabled account or narrowed node scope applies on the very next request. Returns null
 * for a missing, disabled or expired account. `cap` lowers the role (API tokens).
 */
export async function loadCallerCredentials(
  db: Knex,
  userId: string,
  method: ManagerCredentials['method'],
  ids: { session_id?: string; token_id?: string; cap?: Role | null }
): Promise<ManagerCredentials | null> {
  const user = (await db('users').where({ id: userId }).first()) as AccountRow | undefined;
  if (!user || !accountUsable(user) || !isRole(user.role)) return null;
  const role = ids.cap ? lowerRole(user.role, ids.cap) : user.role;
  return {
    user: { id: user.id, username: user.username, display_name: user.display_name, email: user.email, role: user.role },
    role,
    allowed_node_ids: parseJsonColumn<string[] | null>(user.allowed_node_ids, null),
    method,
    session_id: ids.session_id,
    token_id: ids.token_id
  };
}
