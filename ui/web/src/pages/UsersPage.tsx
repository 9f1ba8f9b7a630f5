import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import { ROLES, roleAtLeast, type Node, type Role, type User } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { Dialog } from '../components/Dialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { formatDateTime, formatRelative } from '../components/format';
import { useApiGet } from '../components/useApiGet';
import { useFocusAfterClose } from '../components/useFocusAfterClose';
import { AdminOnly } from './admin/AdminOnly';
import { ConfirmAction } from './admin/ConfirmAction';
import { UserSignIn } from './admin/UserSignIn';
import { Field } from './admin/Field';
import { isoToLocalInput, isPast, localInputToIso } from './admin/time';

const ROLE_LABEL: Record<Role, string> = { viewer: 'Viewer', operator: 'Operator', admin: 'Admin', super_admin: 'Super admin' };
const ROLE_HELP: Record<Role, string> = {
  viewer: 'sees nodes, stats and events',
  operator: 'also runs commands and acknowledges events',
  admin: 'also manages nodes and users',
  super_admin: 'everything, including other super admins'
};

/** The server's refusals, said plainly (the server's own message and code are shown too). */
const EXPLAIN: Record<string, string> = {
  role_above_own: 'You can only grant roles up to your own.',
  super_admin_required: 'Only a super admin can change or delete a super admin.',
  cannot_modify_self: 'You cannot delete or disable your own account. Ask another administrator.',
  last_super_admin: 'This is the last active super admin: promote someone else first.',
  node_scope_exceeded: 'You are limited to some nodes: you can only give, and manage, access within them.',
  weak_password: 'Choose a stronger password: 8–128 characters with an upper-case letter, a lower-case letter and a digit.',
  username_taken: 'Pick another username.'
};

/** The server's error (its message lists any password problems), plus a plain explanation of a protection it enforced. */
function UserError({ error }: { error: unknown }) {
  if (!error) return null;
  const explain = error instanceof ApiError ? EXPLAIN[error.code] : undefined;
  return (
    <>
      <ErrorMessage error={error} />
      {explain && (
        <p className="hint explain" data-testid="error-explain">
          {explain}
        </p>
      )}
    </>
  );
}

type DialogState = { kind: 'create' } | { kind: 'edit'; user: User } | { kind: 'sign-in'; user: User } | { kind: 'delete'; user: User };

/** `/admin/users`: accounts, their roles, node access and expiry. */
export function UsersPage() {
  return (
    <AdminOnly title="Users">
      <UserAdmin />
    </AdminOnly>
  );
}

function UserAdmin() {
  const { user: me } = useAuth();
  // An admin limited to some nodes gives and manages access within them only (as the server enforces).
  const myNodes = me?.allowed_node_ids ?? null;
  const { data: users, error: loadError, reload: load } = useApiGet<User[]>('/api/v1/users');
  const [nodes, setNodes] = useState<Node[]>([]);
  const [dialog, setDialog] = useState<DialogState | null>(null);
  // A deleted user's row takes the dialog's opener with it.
  const { target: headingRef, requestFocus: focusHeadingAfterClose } = useFocusAfterClose<HTMLHeadingElement>(dialog !== null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    api.get<Node[]>('/api/v1/nodes').then(setNodes, () => setNodes([]));
  }, []);

  const nodeName = useMemo(() => new Map(nodes.map((n) => [n.id, n.name])), [nodes]);
  // Roles this caller may grant: up to their own.
  const grantable = ROLES.filter((r) => roleAtLeast(me?.role, r));
  const close = () => setDialog(null);
  const done = (message: string) => {
    close();
    setNotice(message);
    void load();
  };

  const access = (u: User) => {
    if (u.allowed_node_ids === null) return 'All nodes';
    if (u.allowed_node_ids.length === 0) return 'No nodes';
    const names = u.allowed_node_ids.map((id) => nodeName.get(id) ?? id.slice(0, 8));
    return names.length <= 2 ? names.join(', ') : `${names.length} nodes`;
  };

  return (
    <>
      <div className="page-head">
        <h1 ref={headingRef} tabIndex={-1}>
          Users
        </h1>
        <button type="button" onClick={() => setDialog({ kind: 'create' })}>
          Add user
        </button>
      </div>
      {notice && (
        <div className="success-box notice" role="status">
          {notice}
        </div>
      )}
      <ErrorMessage error={loadError} />
      {users === null && !loadError ? (
        <div className="loading">Loading users…</div>
      ) : (
        <div className="table-wrap">
          <table aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Display name</th>
                <th scope="col">Role</th>
                <th scope="col">Active</th>
                <th scope="col">MFA</th>
                <th scope="col">Node access</th>
                <th scope="col">Expires</th>
                <th scope="col">Last login</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {(users ?? []).map((u) => {
                const expired = isPast(u.expires_at);
                // What the server would refuse is not offered (it enforces it regardless).
                // (An admin limited to some nodes is only sent the users within them.)
                const superAdminOnly = u.role === 'super_admin' && me?.role !== 'super_admin';
                const noEdit = superAdminOnly;
                const isMe = u.id === me?.id;
                const locked = superAdminOnly ? EXPLAIN.super_admin_required : isMe ? EXPLAIN.cannot_modify_self : null;
                return (
                  <tr key={u.id} data-testid="user-row" data-username={u.username}>
                    <td>
                      {u.username}
                      {u.id === me?.id && <span className="cell-sub">you</span>}
                    </td>
                    <td>
                      {u.display_name ?? ''}
                      {u.email && <span className="cell-sub">{u.email}</span>}
                    </td>
                    <td>
                      <span className={`badge role-${u.role}`} data-testid="user-role">
                        {ROLE_LABEL[u.role] ?? u.role}
                      </span>
                    </td>
                    <td>{u.is_active ? <span className="badge ok">Active</span> : <span className="badge">Disabled</span>}</td>
                    <td>{u.mfa_enabled ? <span className="badge ok">On</span> : <span className="muted">Off</span>}</td>
                    <td data-testid="user-access">{access(u)}</td>
                    <td>
                      {u.expires_at ? formatDateTime(u.expires_at) : <span className="muted">never</span>}
                      {expired && <span className="badge expired">Expired</span>}
                    </td>
                    <td title={u.last_login_at ? formatDateTime(u.last_login_at) : undefined}>{formatRelative(u.last_login_at)}</td>
                    <td className="actions">
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => setDialog({ kind: 'edit', user: u })}
                        disabled={noEdit}
                        aria-label={`Edit ${u.username}`}
                        aria-describedby={noEdit ? `locked-${u.id}` : undefined}
                      >
                        Edit
                      </button>
                      {/* One's own second factor and identities are managed on the account page. */}
                      {!isMe && (
                        <button
                          type="button"
                          className="secondary small"
                          onClick={() => setDialog({ kind: 'sign-in', user: u })}
                          disabled={noEdit}
                          aria-label={`Sign-in of ${u.username}`}
                          aria-describedby={noEdit ? `locked-${u.id}` : undefined}
                        >
                          Sign-in
                        </button>
                      )}
                      <button
                        type="button"
                        className="danger small"
                        onClick={() => setDialog({ kind: 'delete', user: u })}
                        disabled={locked !== null}
                        aria-label={`Delete ${u.username}`}
                        aria-describedby={locked ? `locked-${u.id}` : undefined}
                      >
                        Delete
                      </button>
                      {locked && (
                        <span className="cell-sub" id={`locked-${u.id}`} data-testid="user-locked">
                          {locked}
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <Dialog
        title={
          dialog?.kind === 'create'
            ? 'Add user'
            : dialog?.kind === 'edit'
              ? `Edit ${dialog.user.username}`
              : dialog?.kind === 'sign-in'
                ? `Sign-in of ${dialog.user.username}`
                : dialog?.kind === 'delete'
                  ? 'Delete user'
                  : ''
        }
        open={dialog !== null}
        onClose={close}
      >
        {dialog?.kind === 'create' && (
          <UserForm nodes={nodes} grantable={grantable} limited={myNodes !== null} onCancel={close} onSaved={(u) => done(`User “${u.username}” created.`)} />
        )}
        {dialog?.kind === 'edit' && (
          <UserForm
            user={dialog.user}
            nodes={nodes}
            grantable={grantable}
            limited={myNodes !== null}
            onCancel={close}
            onSaved={(u) => done(`User “${u.username}” saved.`)}
          />
        )}
        {dialog?.kind === 'sign-in' && <UserSignIn user={dialog.user} onChanged={done} onClose={close} />}
        {dialog?.kind === 'delete' && (
          <ConfirmAction
            text={
              <>
                Delete the user <strong>{dialog.user.username}</strong>? They are signed out everywhere and can no longer sign in. This cannot be undone.
              </>
            }
            confirmLabel="Delete user"
            danger
            onCancel={close}
            run={async () => {
              await api.delete(`/api/v1/users/${dialog.user.id}`);
              focusHeadingAfterClose();
              done(`User “${dialog.user.username}” deleted.`);
            }}
            renderError={(error) => <UserError error={error} />}
          />
        )}
      </Dialog>
    </>
  );
}

/** Create (no `user`) or edit a user. Edits send only the fields that changed. */
function UserForm({
  user,
  nodes,
  grantable,
  limited,
  onCancel,
  onSaved
}: {
  user?: User;
  nodes: Node[];
  grantable: Role[];
  /** The admin is limited to some nodes: "all nodes" is not theirs to give. */
  limited: boolean;
  onCancel: () => void;
  onSaved: (user: User) => void;
}) {
  const editing = user !== undefined;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState(user?.display_name ?? '');
  const [email, setEmail] = useState(user?.email ?? '');
  const [role, setRole] = useState<Role>(user?.role ?? 'viewer');
  const [active, setActive] = useState(user?.is_active ?? true);
  const initialExpiry = isoToLocalInput(user?.expires_at);
  const [expires, setExpires] = useState(initialExpiry);
  const [allNodes, setAllNodes] = useState(user ? user.allowed_node_ids === null : !limited);
  const [selected, setSelected] = useState<Set<string>>(new Set(user?.allowed_node_ids ?? []));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  // A super admin being edited by an admin keeps its role visible in the list.
  const roles = user && !grantable.includes(user.role) ? [...grantable, user.role] : grantable;
  const allowed = allNodes ? null : [...selected].sort();
  const sameAccess = (a: string[] | null, b: string[] | null) =>
    a === null || b === null ? a === b : a.length === b.length && [...a].sort().every((id, i) => id === [...b].sort()[i]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (!editing) {
        const body: Record<string, unknown> = { username, password, role, is_active: active, allowed_node_ids: allowed };
        if (displayName.trim()) body.display_name = displayName;
        if (email.trim()) body.email = email.trim();
        if (expires) body.expires_at = localInputToIso(expires);
        onSaved(await api.post<User>('/api/v1/users', body));
        return;
      }
      const body: Record<string, unknown> = {};
      if (displayName !== (user.display_name ?? '')) body.display_name = displayName;
      if (email.trim() !== (user.email ?? '')) body.email = email.trim() || null;
      if (role !== user.role) body.role = role;
      if (active !== user.is_active) body.is_active = active;
      if (expires !== initialExpiry) body.expires_at = localInputToIso(expires);
      if (!sameAccess(allowed, user.allowed_node_ids)) body.allowed_node_ids = allowed;
      if (password) body.password = password;
      if (Object.keys(body).length === 0) {
        onCancel();
        return;
      }
      onSaved(await api.put<User>(`/api/v1/users/${user.id}`, body));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const toggle = (id: string, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label={editing ? 'Edit user' : 'Add user'}>
      <div className="form-grid">
        {editing ? (
          <p className="wide muted">
            Username: <strong>{user.username}</strong> (cannot change)
          </p>
        ) : (
          <label>
            Username
            <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" maxLength={64} required autoFocus />
          </label>
        )}
        <Field
          label={editing ? 'New password (optional)' : 'Password'}
          hint={
            editing
              ? 'Leave empty to keep the current password. A reset signs the user out everywhere.'
              : '8–128 characters, with upper- and lower-case letters and a digit.'
          }
        >
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" required={!editing} />
        </Field>
        <label>
          Display name
          <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} maxLength={128} />
        </label>
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} maxLength={254} />
        </label>
        <Field label="Role" hint={ROLE_HELP[role] ?? ''}>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABEL[r] ?? r}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Expires (optional)" hint="The account stops working after this time.">
          <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </Field>
        <label className="checkbox wide">
          <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} /> Active (may sign in)
        </label>
        <fieldset className="wide">
          <legend>Node access</legend>
          <label className="checkbox">
            <input
              type="radio"
              name="node-access"
              checked={allNodes}
              disabled={limited}
              aria-describedby={limited ? 'node-access-limited' : undefined}
              onChange={() => setAllNodes(true)}
            />{' '}
            All nodes
          </label>
          {limited && (
            <p className="hint" id="node-access-limited">
              {EXPLAIN.node_scope_exceeded}
            </p>
          )}
          <label className="checkbox">
            <input type="radio" name="node-access" checked={!allNodes} onChange={() => setAllNodes(false)} /> Only selected nodes
          </label>
          {!allNodes && (
            <div className="node-checklist" role="group" aria-label="Allowed nodes">
              {nodes.length === 0 && <span className="muted">No nodes exist yet.</span>}
              {nodes.map((n) => (
                <label key={n.id} className="checkbox">
                  <input type="checkbox" checked={selected.has(n.id)} onChange={(e) => toggle(n.id, e.target.checked)} /> {n.name}
                  <span className="muted">({n.device_type})</span>
                </label>
              ))}
              {[...selected]
                .filter((id) => !nodes.some((n) => n.id === id))
                .map((id) => (
                  <label key={id} className="checkbox">
                    <input type="checkbox" checked onChange={(e) => toggle(id, e.target.checked)} /> <code>{id}</code>{' '}
                    <span className="muted">(deleted node)</span>
                  </label>
                ))}
            </div>
          )}
        </fieldset>
      </div>
      <UserError error={error} />
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : editing ? 'Save' : 'Create user'}
        </button>
      </div>
    </form>
  );
}
