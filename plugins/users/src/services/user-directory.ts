import crypto from 'node:crypto';
import {
  apiError,
  fromDbBoolean,
  isUniqueViolation,
  nowIso,
  parseJsonColumn,
  roleAtLeast,
  type AuditLog,
  type ManagerCredentials,
  type Role
} from '@bilbycast/core';
import type { Knex } from 'knex';
import { rememberReplacedPassword } from './password-history';

/** A user as the API returns it: never the password hash or any other secret. */
export interface User {
  id: string;
  username: string;
  display_name: string | null;
  email: string | null;
  role: Role;
  is_active: boolean;
  expires_at: string | null;
  /** Node ids this user may see; null means every node. */
  allowed_node_ids: string[] | null;
  /** Read-only: reported by the `mfa` service (the auth plugin's TOTP enrolment); false without one. */
  mfa_enabled: boolean;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface NewUser {
  username: string;
  password_hash: string;
  display_name: string;
  email: string | null;
  role: Role;
  is_active: boolean;
  expires_at: string | null;
  allowed_node_ids: string[] | null;
}

/** The fields an administrator may change; `password_hash` is audited as `password`, without a value. */
export interface UserChanges {
  display_name?: string;
  email?: string | null;
  role?: Role;
  is_active?: boolean;
  expires_at?: string | null;
  allowed_node_ids?: string[] | null;
  password_hash?: string;
}

/** Who is acting, for the protections and the audit trail. */
export interface Actor {
  credentials: ManagerCredentials;
  ip: string | null;
}

type UserRow = Record<string, unknown>;

const EDITABLE_FIELDS = ['display_name', 'email', 'role', 'is_active', 'expires_at', 'allowed_node_ids'] as const;

/**
 * The users API's storage and rules. Every change runs in one transaction with its audit
 * record, after checking the protections: nobody grants a role above their own, or node
 * access beyond their own; only a super_admin touches a super_admin; nobody deletes or
 * disables themselves; and a super_admin is only deleted, disabled, demoted or given an
 * expiry while another active one (enabled and unexpired) remains.
 */
export class UserDirectory {
  constructor(
    private readonly db: Knex,
    private readonly audit: AuditLog
  ) {}

  /** Every user, newest first. */
  /** Users the caller may see: everyone for an unlimited admin; else themself and those whose node access lies within theirs. */
  async list(caller: ManagerCredentials): Promise<User[]> {
    const rows = await this.db('users').select<UserRow[]>('*').orderBy('created_at', 'desc');
    return rows.map(toUser).filter((user) => visibleTo(caller, user));
  }

  async find(id: string): Promise<User | undefined> {
    const row = await this.db('users').where({ id }).first<UserRow | undefined>();
    return row && toUser(row);
  }

  async create(actor: Actor, input: NewUser): Promise<User> {
    assertMayGrant(actor.credentials, input.role);
    assertWithinScope(actor.credentials, input.allowed_node_ids ?? null);
    const id = crypto.randomUUID();
    const now = nowIso();
    const { password_hash, allowed_node_ids, ...visible } = input;
    try {
      return await this.db.transaction(async (trx) => {
        await trx('users').insert({
          ...input,
          id,
          username_key: input.username.toLowerCase(),
          allowed_node_ids: toJsonColumn(allowed_node_ids),
          created_at: now,
          updated_at: now
        });
        await this.audit.record(auditEntry(actor, 'user.create', id, { ...visible, allowed_node_ids }), trx);
        return toUser(await trx('users').where({ id }).first<UserRow>());
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw apiError(409, 'username_taken', `The username "${input.username}" is already taken`);
      }
      throw err;
    }
  }

  /** Applies the changes that differ from the stored values; returns the user and the changed field names. */
  async update(actor: Actor, id: string, changes: UserChanges): Promise<{ user: User; changed: string[] }> {
    return this.db.transaction(async (trx) => {
      const { target, superAdmins } = await lockForChange(trx, id);
      assertMayChange(actor.credentials, target, superAdmins, {
        role: changes.role,
        disable: changes.is_active === false,
        expire: changes.expires_at !== undefined && changes.expires_at !== null,
        credentials: changes.password_hash !== undefined || (changes.email !== undefined && changes.email !== target.email)
      });
      if (changes.allowed_node_ids !== undefined) assertWithinScope(actor.credentials, changes.allowed_node_ids);

      const current = toUser(target);
      const values: Record<string, unknown> = {};
      for (const field of EDITABLE_FIELDS) {
        if (changes[field] !== undefined && JSON.stringify(changes[field]) !== JSON.stringify(current[field])) {
          values[field] = changes[field];
        }
      }
      const changed = [...Object.keys(values), ...(changes.password_hash ? ['password'] : [])];
      if (changed.length === 0) return { user: current, changed };

      const row: Record<string, unknown> = { ...values, updated_at: nowIso() };
      if ('allowed_node_ids' in values) row.allowed_node_ids = toJsonColumn(changes.allowed_node_ids ?? null);
      if (changes.password_hash) row.password_hash = changes.password_hash;
      await trx('users').where({ id }).update(row);
      // A reset is not checked against the history (the administrator must not learn the user's
      // old passwords), but the replaced password joins it: the user cannot go back to it.
      if (changes.password_hash) await rememberReplacedPassword(trx, id, (target.password_hash as string | null) ?? null);
      await this.audit.record(auditEntry(actor, 'user.update', id, { fields: changed, changed: values }), trx);
      return { user: toUser(await trx('users').where({ id }).first<UserRow>()), changed };
    });
  }

  /**
   * Checks that the actor may change this user's sign-in credentials (reset a second factor, link
   * or remove a single sign-on identity) under the rules of a password reset; the user.
   */
  async authorizeCredentialChange(actor: Actor, id: string): Promise<User> {
    const target = await this.db('users').where({ id }).first<UserRow | undefined>();
    if (!target) throw userNotFound();
    assertMayChange(actor.credentials, target, [], { credentials: true });
    return toUser(target);
  }

  async recordCredentialChange(actor: Actor, action: string, id: string, details: Record<string, unknown>): Promise<void> {
    await this.audit.record(auditEntry(actor, action, id, details));
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      const { target, superAdmins } = await lockForChange(trx, id);
      assertMayChange(actor.credentials, target, superAdmins, { remove: true });
      await trx('users').where({ id }).delete();
      await this.audit.record(auditEntry(actor, 'user.delete', id, { username: target.username, role: target.role }), trx);
    });
  }
}

export function userNotFound() {
  return apiError(404, 'user_not_found', 'No such user');
}

/**
 * Locks the active super_admin rows, then the target (always in this order, so concurrent
 * changes queue instead of deadlocking): two concurrent demotions cannot both pass the count.
 */
async function lockForChange(trx: Knex.Transaction, id: string): Promise<{ target: UserRow; superAdmins: string[] }> {
  const superAdmins = await lockActiveSuperAdmins(trx);
  const target = await trx('users').where({ id }).forUpdate().first<UserRow | undefined>();
  if (!target) throw userNotFound();
  return { target, superAdmins };
}

/**
 * The ids of the active (enabled, unexpired) super_admins, locked for the transaction. Anything
 * else that may demote or disable a user (e.g. SSO role mapping) takes this lock first, then the
 * user's row, so that the last super_admin is protected the same way everywhere.
 */
export async function lockActiveSuperAdmins(trx: Knex.Transaction): Promise<string[]> {
  const rows = await trx('users')
    .select<{ id: string }[]>('id')
    .where({ role: 'super_admin', is_active: true })
    .andWhere((q) => void q.whereNull('expires_at').orWhere('expires_at', '>', nowIso()))
    .forUpdate();
  return rows.map((r) => r.id);
}

/**
 * An admin limited to some nodes may only give access within those nodes (null: every node),
 * and may only manage users whose access lies within them: otherwise they could widen their own
 * access, or take over (password reset) an account that reaches further.
 */
function assertWithinScope(caller: ManagerCredentials, nodeIds: string[] | null): void {
  if (!withinScope(caller, nodeIds)) {
    throw apiError(403, 'node_scope_exceeded', 'You can only give or manage access to nodes you can access yourself');
  }
}

function withinScope(caller: ManagerCredentials, nodeIds: string[] | null): boolean {
  const own = caller.allowed_node_ids;
  return own === null || (nodeIds !== null && nodeIds.every((id) => own.includes(id)));
}

/** Whether the caller may see the user at all (a user outside a limited admin's scope is as absent as a missing one). */
export function visibleTo(caller: ManagerCredentials, user: Pick<User, 'id' | 'allowed_node_ids'>): boolean {
  return user.id === caller.user.id || withinScope(caller, user.allowed_node_ids);
}

function assertMayGrant(caller: ManagerCredentials, role: Role): void {
  if (!roleAtLeast(caller.role, role)) {
    throw apiError(403, 'role_above_own', `You cannot grant the ${role} role, which is above your own (${caller.role})`);
  }
}

/** Throws the 403, 404 or 409 of the first protection a change to an existing user breaks. */
function assertMayChange(
  caller: ManagerCredentials,
  target: UserRow,
  activeSuperAdmins: string[],
  change: { role?: Role; disable?: boolean; remove?: boolean; expire?: boolean; credentials?: boolean }
): void {
  // A user outside a limited admin's nodes is as absent as a missing one, here as when read.
  if (!visibleTo(caller, toUser(target))) throw userNotFound();
  // One's own password and email change on one's account page, where a token is refused and the
  // current password is asked for; an admin route must not be the way around that.
  if (target.id === caller.user.id && change.credentials) {
    throw apiError(
      403,
      'self_service_required',
      'Change your own password, email, second factor or single sign-on identities on your account page (the /api/v1/auth routes)'
    );
  }
  if (change.role) assertMayGrant(caller, change.role);
  if (target.role === 'super_admin' && caller.role !== 'super_admin') {
    throw apiError(403, 'super_admin_required', 'Only a super_admin may change or delete a super_admin');
  }
  assertWithinScope(caller, toUser(target).allowed_node_ids);
  if (target.id === caller.user.id && (change.remove || change.disable)) {
    throw apiError(409, 'cannot_modify_self', `You cannot ${change.remove ? 'delete' : 'disable'} your own account`);
  }
  const demoted = change.role !== undefined && change.role !== 'super_admin';
  const remaining = activeSuperAdmins.filter((adminId) => adminId !== target.id);
  if (target.role === 'super_admin' && (change.remove || change.disable || change.expire || demoted) && remaining.length === 0) {
    throw apiError(409, 'last_super_admin', 'The last active super_admin cannot be deleted, disabled, demoted or given an expiry');
  }
}

/** A `users` row as the API shows it (no hash or secrets); `mfa_enabled` is filled in by the caller. */
export function toUser(record: object): User {
  const row = record as UserRow;
  return {
    id: String(row.id),
    username: String(row.username),
    display_name: (row.display_name as string | null) ?? null,
    email: (row.email as string | null) ?? null,
    role: row.role as Role,
    is_active: fromDbBoolean(row.is_active),
    expires_at: (row.expires_at as string | null) ?? null,
    allowed_node_ids: parseJsonColumn<string[] | null>(row.allowed_node_ids, null),
    mfa_enabled: false,
    last_login_at: (row.last_login_at as string | null) ?? null,
    created_at: String(row.created_at),
    updated_at: String(row.updated_at)
  };
}

function toJsonColumn(nodeIds: string[] | null): string | null {
  return nodeIds === null ? null : JSON.stringify(nodeIds);
}

function auditEntry(actor: Actor, action: string, targetId: string, details: Record<string, unknown>) {
  return {
    action,
    user_id: actor.credentials.user.id,
    username: actor.credentials.user.username,
    target_type: 'user',
    target_id: targetId,
    ip: actor.ip,
    details
  };
}
