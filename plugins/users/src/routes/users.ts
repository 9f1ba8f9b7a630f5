import { ROLES, apiError, callerOf, isoDate, roleAtLeast } from '@bilbycast/core';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { contextOf } from './route-context';
import { actorOf, userIdParams } from './route-helpers';
import { hashPassword } from '../services/password-hashing';
import { USERNAME_PATTERN } from '../services/accounts';
import { passwordProblems } from '../services/password-policy';
import { userNotFound, visibleTo, type NewUser, type User, type UserChanges } from '../services/user-directory';

/** No control characters, unpaired surrogates or line/paragraph separators. */
const PRINTABLE = /^[^\p{Cc}\p{Cs}\p{Zl}\p{Zp}]*$/u;

const fields = {
  display_name: Joi.string().trim().min(1).max(128).pattern(PRINTABLE, 'printable'),
  email: Joi.string()
    .email({ tlds: { allow: false } })
    .max(254)
    .allow(null),
  role: Joi.string().valid(...ROLES),
  is_active: Joi.boolean().strict(),
  expires_at: isoDate().greater('now').max('9999-12-31T23:59:59.999Z').allow(null),
  allowed_node_ids: Joi.array().items(Joi.string().guid().lowercase()).unique().max(1000).allow(null),
  // The policy (8-128 characters) is checked after validation to answer `weak_password`.
  password: Joi.string().max(1024)
};

const noQuery = Joi.object({});

const createPayload = Joi.object({
  username: Joi.string()
    .required()
    .pattern(USERNAME_PATTERN)
    .messages({ 'string.pattern.base': '"username" must be 1-64 of A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit' }),
  password: fields.password.required(),
  display_name: fields.display_name,
  email: fields.email,
  role: fields.role.default('viewer'),
  is_active: fields.is_active.default(true),
  expires_at: fields.expires_at,
  allowed_node_ids: fields.allowed_node_ids
}).required();

const updatePayload = Joi.object(fields).min(1).required();

interface CreatePayload {
  username: string;
  password: string;
  display_name?: string;
  email?: string | null;
  role: NewUser['role'];
  is_active: boolean;
  expires_at?: Date | null;
  allowed_node_ids?: string[] | null;
}

type UpdatePayload = Omit<UserChanges, 'password_hash' | 'expires_at'> & { expires_at?: Date | null; password?: string };

// The auth plugin registers after this one: its services (sessions, mfa) are looked up per request.

/**
 * Ends every session and API token of a user whose password was reset, who was disabled or
 * deleted, when a `sessions` service (the auth plugin's) is provided: credentials made before
 * the reset must not outlive it. (None of these can be done to oneself here.)
 */
async function revokeCredentials(request: Request, userId: string): Promise<void> {
  await request.server.manager.services.get('sessions')?.revokeAllForUser(userId);
}

async function hashIfAcceptable(password: string): Promise<string> {
  const problems = passwordProblems(password);
  if (problems.length > 0) {
    throw apiError(400, 'weak_password', `Password rejected: ${problems.join('; ')}`, { problems });
  }
  return hashPassword(password);
}

const toIso = (date: Date | null | undefined) => (date === undefined ? undefined : date && date.toISOString());

const admin = { bilbycast: { access: { role: 'admin' as const } } };

/** The users with `mfa_enabled` set, from the auth plugin's `mfa` service (false for all without one). */
async function withMfa(request: Request, list: User[]): Promise<User[]> {
  const enabled = (await request.server.manager.services.get('mfa')?.enabledFor(list.map((u) => u.id))) ?? new Set<string>();
  return list.map((u) => ({ ...u, mfa_enabled: enabled.has(u.id) }));
}

const present = async (request: Request, user: User) => (await withMfa(request, [user]))[0];

async function listUsers(request: Request, h: ResponseToolkit) {
  return withMfa(request, await contextOf(h).directory.list(callerOf(request)));
}

async function createUser(request: Request, h: ResponseToolkit) {
  const { password, ...input } = request.payload as CreatePayload;
  const user = await contextOf(h).directory.create(actorOf(request), {
    username: input.username,
    password_hash: await hashIfAcceptable(password),
    display_name: input.display_name ?? input.username,
    email: input.email ?? null,
    role: input.role,
    is_active: input.is_active,
    expires_at: toIso(input.expires_at) ?? null,
    allowed_node_ids: input.allowed_node_ids ?? null
  });
  return h.response(await present(request, user)).created(`/api/v1/users/${user.id}`);
}

async function readUser(request: Request, h: ResponseToolkit) {
  const { id } = request.params as { id: string };
  const caller = callerOf(request);
  // Non-admins get the same 404 for another user as for no user: ids cannot be probed.
  if (caller.user.id !== id && !roleAtLeast(caller.role, 'admin')) throw userNotFound();
  const found = await contextOf(h).directory.find(id);
  const user = found && visibleTo(caller, found) && (await present(request, found));
  if (!user) throw userNotFound();
  return user;
}

async function updateUser(request: Request, h: ResponseToolkit) {
  const { id } = request.params as { id: string };
  const { password, expires_at, ...rest } = request.payload as UpdatePayload;
  const changes: UserChanges = { ...rest, expires_at: toIso(expires_at) };
  if (password !== undefined) changes.password_hash = await hashIfAcceptable(password);
  const { user: updated, changed } = await contextOf(h).directory.update(actorOf(request), id, changes);
  const user = await present(request, updated);
  if (changed.includes('password') || (changed.includes('is_active') && !user.is_active)) {
    await revokeCredentials(request, id);
  }
  return user;
}

async function deleteUser(request: Request, h: ResponseToolkit) {
  const { id } = request.params as { id: string };
  await contextOf(h).directory.remove(actorOf(request), id);
  await revokeCredentials(request, id);
  return h.response().code(204);
}

/** `/api/v1/users`: user administration (admin+), and reading one's own record. */
export const userRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/users',
    options: {
      tags: ['api', 'users'],
      description: 'List users, newest first (admin; an admin limited to some nodes sees those whose access lies within theirs)',
      plugins: admin,
      validate: { query: noQuery },
      handler: listUsers
    }
  },
  {
    method: 'POST',
    path: '/api/v1/users',
    options: {
      tags: ['api', 'users'],
      description: 'Create a user (admin; only a super_admin creates a super_admin)',
      plugins: admin,
      validate: { query: noQuery, payload: createPayload },
      handler: createUser
    }
  },
  {
    method: 'GET',
    path: '/api/v1/users/{id}',
    options: {
      tags: ['api', 'users'],
      description: 'Read a user (admin, or the user themself; anyone else gets 404)',
      plugins: { bilbycast: { access: 'authenticated' } },
      validate: { query: noQuery, params: userIdParams },
      handler: readUser
    }
  },
  {
    method: 'PUT',
    path: '/api/v1/users/{id}',
    options: {
      tags: ['api', 'users'],
      description: 'Change a user; a password here is an administrator reset (admin)',
      plugins: admin,
      validate: { query: noQuery, params: userIdParams, payload: updatePayload },
      handler: updateUser
    }
  },
  {
    method: 'DELETE',
    path: '/api/v1/users/{id}',
    options: {
      tags: ['api', 'users'],
      description: 'Delete a user (admin; only a super_admin deletes a super_admin)',
      plugins: admin,
      validate: { query: noQuery, params: userIdParams },
      handler: deleteUser
    }
  }
];
