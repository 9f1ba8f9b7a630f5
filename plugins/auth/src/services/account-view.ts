import { fromDbBoolean, parseJsonColumn } from '@bilbycast/core';

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

/** The caller's own account as the auth endpoints return it: never hashes or secrets. */
export function accountView(row: AccountRow, mfaEnabled: boolean) {
  return {
    id: row.id,
    username: row.username,
    display_name: row.display_name,
    email: row.email,
    role: row.role,
    is_active: fromDbBoolean(row.is_active),
    expires_at: row.expires_at,
    allowed_node_ids: parseJsonColumn<string[] | null>(row.allowed_node_ids, null),
    mfa_enabled: mfaEnabled,
    last_login_at: row.last_login_at,
    created_at: row.created_at,
    updated_at: row.updated_at
  };
}
