import { toUser, type User } from '@bilbycast/users';

/** A `users` row as the auth plugin reads it. */
export interface AccountRow {
  id: string;
  username: string;
  display_name: string | null;
  email: string | null;
  role: string;
  is_active: unknown;
  expires_at: string | null;
  allowed_node_ids: string | null;
  password_hash: string | null;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

/** The caller's own account as the auth endpoints return it: the users API's view of the row. */
export function accountView(row: AccountRow, mfaEnabled: boolean): User {
  return { ...toUser(row), mfa_enabled: mfaEnabled };
}
