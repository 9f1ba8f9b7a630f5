import type { Knex } from 'knex';
import type { Role } from './roles';

/**
 * Who is calling, as the auth plugin puts it in `request.auth.credentials` on every
 * authenticated request. Read fresh from the database each time, so a changed role,
 * disabled account or narrowed node scope applies on the very next request.
 */
export interface ManagerCredentials {
  user: {
    id: string;
    username: string;
    display_name: string | null;
    email: string | null;
    role: Role;
  };
  /** Effective role: the user's, or lower when an API token is capped below it. */
  role: Role;
  /** Node ids this user may see; null means every node. */
  allowed_node_ids: string[] | null;
  method: 'session' | 'token';
  session_id?: string;
  token_id?: string;
}

/** Whether the caller may see a node (out-of-scope nodes are answered as 404). */
export function canAccessNode(credentials: Pick<ManagerCredentials, 'allowed_node_ids'>, nodeId: string): boolean {
  return credentials.allowed_node_ids === null || credentials.allowed_node_ids.includes(nodeId);
}

/** Narrows a query to the caller's nodes: `scopeToNodes(db('nodes'), creds, 'id')`. */
export function scopeToNodes<T extends Knex.QueryBuilder>(query: T, credentials: Pick<ManagerCredentials, 'allowed_node_ids'>, column: string): T {
  if (credentials.allowed_node_ids === null) return query;
  return query.whereIn(column, credentials.allowed_node_ids) as T;
}
