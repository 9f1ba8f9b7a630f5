import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import type { CreatedNode, DeviceType, Node } from '../api/types';
import { StatusBadge } from '../components/Badges';
import { Dialog } from '../components/Dialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { formatDateTime, formatRelative } from '../components/format';
import { useApiGet } from '../components/useApiGet';
import { useFocusAfterClose } from '../components/useFocusAfterClose';
import { useLiveFeed } from '../live/LiveFeedProvider';
import { AdminOnly } from './admin/AdminOnly';
import { ConfirmAction } from './admin/ConfirmAction';
import { Field } from './admin/Field';
import { RegistrationToken, type IssuedToken } from './admin/RegistrationToken';
import { isoToLocalInput, isPast, localInputToIso } from './admin/time';

type DialogState =
  | { kind: 'add' }
  | { kind: 'edit'; node: Node }
  | { kind: 'confirm-token'; node: Node }
  | { kind: 'token'; issued: IssuedToken }
  | { kind: 'delete'; node: Node };

function dialogTitle(d: DialogState | null): string {
  switch (d?.kind) {
    case 'add':
      return 'Add node';
    case 'edit':
      return `Edit ${d.node.name}`;
    case 'confirm-token':
      return 'Regenerate registration token';
    case 'token':
      return 'Registration token';
    case 'delete':
      return 'Delete node';
    default:
      return '';
  }
}

/** `/admin/nodes`: the managed nodes, adding them (with their registration token), editing, re-issuing tokens, deleting. */
export function NodesPage() {
  return (
    <AdminOnly title="Nodes">
      <ManagedNodes />
    </AdminOnly>
  );
}

function ManagedNodes() {
  const feed = useLiveFeed();
  const { data: listed, setData: setListed, error: loadError, reload: load } = useApiGet<Node[]>('/api/v1/nodes');
  const [deviceTypes, setDeviceTypes] = useState<DeviceType[]>([]);
  const [q, setQ] = useState('');
  const [dialog, setDialog] = useState<DialogState | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    api.get<{ device_types: DeviceType[] }>('/api/v1/device-types').then(
      (r) => setDeviceTypes(r.device_types),
      () => setDeviceTypes([])
    );
  }, []);

  // The API list, with the live feed's newer view of each node (status, version, last seen)
  // and the nodes it announced since; nodes the feed reports removed are dropped.
  const nodes = useMemo(() => {
    const byId = new Map((listed ?? []).map((n) => [n.id, n]));
    if (feed.nodes) {
      if (feed.status === 'connected') for (const id of [...byId.keys()]) if (!feed.nodes.has(id)) byId.delete(id);
      for (const [id, n] of feed.nodes) byId.set(id, n);
    }
    return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
  }, [listed, feed.nodes, feed.status]);

  const typeName = useMemo(() => new Map(deviceTypes.map((t) => [t.device_type, t.display_name])), [deviceTypes]);

  const shown = useMemo(() => {
    const needle = q.trim().toLowerCase();
    if (!needle) return nodes;
    return nodes.filter((n) =>
      [n.name, n.description ?? '', n.device_type, typeName.get(n.device_type) ?? '', n.status, isPast(n.expires_at) ? 'expired' : ''].some((s) =>
        s.toLowerCase().includes(needle)
      )
    );
  }, [nodes, q, typeName]);

  const close = () => setDialog(null);

  // A deleted node's row takes the dialog's opener with it.
  const { target: headingRef, requestFocus: focusHeadingAfterClose } = useFocusAfterClose<HTMLHeadingElement>(dialog !== null);

  const after = (message: string) => {
    setNotice(message);
    void load();
  };

  return (
    <>
      <div className="page-head">
        <h1 ref={headingRef} tabIndex={-1}>
          Nodes
        </h1>
        <button type="button" onClick={() => setDialog({ kind: 'add' })}>
          Add node
        </button>
      </div>
      <section className="toolbar" aria-label="Filters">
        <label>
          Search
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Name, type or status" />
        </label>
        <span className="muted" aria-live="polite">
          {listed || feed.nodes ? `${shown.length} of ${nodes.length} nodes` : ''}
        </span>
      </section>
      {notice && (
        <div className="success-box notice" role="status">
          {notice}
        </div>
      )}
      <ErrorMessage error={loadError} />
      {listed === null && feed.nodes === null && !loadError ? (
        <div className="loading">Loading nodes…</div>
      ) : nodes.length === 0 ? (
        <p className="empty">No nodes yet. Use “Add node” to create one and get its registration token.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Nodes">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Version</th>
                <th scope="col">Expires</th>
                <th scope="col">Last seen</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((node) => {
                const expired = isPast(node.expires_at);
                return (
                  <tr key={node.id} data-testid="node-row" data-node-id={node.id} data-status={node.status}>
                    <td>
                      <Link to={`/nodes/${node.id}`}>{node.name}</Link>
                      {node.description && <span className="cell-sub">{node.description}</span>}
                    </td>
                    <td>
                      <span className={`type-badge type-${node.device_type}`}>{typeName.get(node.device_type) ?? node.device_type}</span>
                    </td>
                    <td>
                      <StatusBadge status={node.status} />
                      {expired && <span className="badge expired">Expired</span>}
                      {node.registration_pending && node.status !== 'online' && <span className="cell-sub">awaiting registration</span>}
                    </td>
                    <td>{node.software_version ?? <span className="muted">—</span>}</td>
                    <td>{node.expires_at ? formatDateTime(node.expires_at) : <span className="muted">never</span>}</td>
                    <td title={node.last_seen_at ? formatDateTime(node.last_seen_at) : undefined}>
                      {node.status === 'online' ? 'now' : formatRelative(node.last_seen_at)}
                    </td>
                    <td className="actions">
                      <button type="button" className="secondary small" onClick={() => setDialog({ kind: 'edit', node })} aria-label={`Edit ${node.name}`}>
                        Edit
                      </button>
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => setDialog({ kind: 'confirm-token', node })}
                        aria-label={`Regenerate token for ${node.name}`}
                      >
                        Token
                      </button>
                      <button type="button" className="danger small" onClick={() => setDialog({ kind: 'delete', node })} aria-label={`Delete ${node.name}`}>
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
              {shown.length === 0 && (
                <tr>
                  <td colSpan={7} className="muted">
                    No node matches “{q}”.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}

      <Dialog title={dialogTitle(dialog)} open={dialog !== null} onClose={close}>
        {dialog?.kind === 'add' && (
          <AddNodeForm
            deviceTypes={deviceTypes}
            onCancel={close}
            onCreated={(created) => {
              setDialog({
                kind: 'token',
                issued: {
                  node_id: created.id,
                  node_name: created.name,
                  device_type: created.device_type,
                  registration_token: created.registration_token,
                  registration_expires_at: created.registration_expires_at
                }
              });
              after(`Node “${created.name}” added.`);
            }}
          />
        )}
        {dialog?.kind === 'edit' && (
          <EditNodeForm
            node={dialog.node}
            onCancel={close}
            onSaved={(node) => {
              close();
              after(`Node “${node.name}” saved.`);
            }}
          />
        )}
        {dialog?.kind === 'confirm-token' && (
          <ConfirmAction
            text={
              <>
                Issue a new registration token for <strong>{dialog.node.name}</strong>? The node is <strong>disconnected</strong> now and its current secret is{' '}
                <strong>revoked</strong>: it cannot connect again until it registers with the new token.
              </>
            }
            confirmLabel="Regenerate token"
            danger
            onCancel={close}
            run={async () => {
              const node = dialog.node;
              const issued = await api.post<{ node_id: string; registration_token: string; registration_expires_at: string }>(`/api/v1/nodes/${node.id}/token`);
              setDialog({ kind: 'token', issued: { ...issued, node_name: node.name, device_type: node.device_type } });
              after(`New registration token issued for “${node.name}”.`);
            }}
          />
        )}
        {dialog?.kind === 'token' && <RegistrationToken issued={dialog.issued} onDone={close} />}
        {dialog?.kind === 'delete' && (
          <ConfirmAction
            text={
              <>
                Delete <strong>{dialog.node.name}</strong>? It is <strong>disconnected</strong> at once, and the node and <strong>all its events</strong> are
                deleted. This cannot be undone.
              </>
            }
            confirmLabel="Delete node"
            danger
            onCancel={close}
            run={async () => {
              const node = dialog.node;
              await api.delete(`/api/v1/nodes/${node.id}`);
              setListed((prev) => prev?.filter((n) => n.id !== node.id) ?? prev);
              focusHeadingAfterClose();
              close();
              after(`Node “${node.name}” deleted.`);
            }}
          />
        )}
      </Dialog>
    </>
  );
}

function AddNodeForm({ deviceTypes, onCancel, onCreated }: { deviceTypes: DeviceType[]; onCancel: () => void; onCreated: (node: CreatedNode) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [chosenType, setDeviceType] = useState('edge');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  // A type the manager does not offer (the default before the list arrives): its first type instead.
  const deviceType = deviceTypes.length > 0 && !deviceTypes.some((t) => t.device_type === chosenType) ? deviceTypes[0].device_type : chosenType;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { name, device_type: deviceType };
      if (description.trim()) body.description = description;
      if (expires) body.expires_at = localInputToIso(expires);
      onCreated(await api.post<CreatedNode>('/api/v1/nodes', body));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label="Add node">
      <NameAndDescription name={name} description={description} onName={setName} onDescription={setDescription} />
      <label>
        Device type
        <select value={deviceType} onChange={(e) => setDeviceType(e.target.value)}>
          {deviceTypes.length === 0 && <option value="edge">edge</option>}
          {deviceTypes.map((t) => (
            <option key={t.device_type} value={t.device_type}>
              {t.display_name} ({t.device_type})
            </option>
          ))}
        </select>
      </label>
      <Field label="Expires (optional)" hint="After this time the node can no longer connect. Leave empty for no expiry.">
        <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </Field>
      <ErrorMessage error={error} />
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add node'}
        </button>
      </div>
    </form>
  );
}

function EditNodeForm({ node, onCancel, onSaved }: { node: Node; onCancel: () => void; onSaved: (node: Node) => void }) {
  const [name, setName] = useState(node.name);
  const [description, setDescription] = useState(node.description ?? '');
  const initialExpiry = isoToLocalInput(node.expires_at);
  const [expires, setExpires] = useState(initialExpiry);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    if (name !== node.name) body.name = name;
    if (description !== (node.description ?? '')) body.description = description || null;
    if (expires !== initialExpiry) body.expires_at = localInputToIso(expires);
    if (Object.keys(body).length === 0) {
      onCancel();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.put<Node>(`/api/v1/nodes/${node.id}`, body));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label="Edit node">
      <NameAndDescription name={name} description={description} onName={setName} onDescription={setDescription} />
      <Field label="Expires" hint="Clear it for no expiry.">
        <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </Field>
      <p className="muted small-note">
        Type: {node.device_type} · ID <code>{node.id}</code>
      </p>
      <ErrorMessage error={error} />
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

/** The name and description inputs the add and edit forms share. */
function NameAndDescription(props: { name: string; description: string; onName: (value: string) => void; onDescription: (value: string) => void }) {
  return (
    <>
      <label>
        Name
        <input value={props.name} onChange={(e) => props.onName(e.target.value)} maxLength={128} required autoFocus />
      </label>
      <label>
        Description
        <textarea value={props.description} onChange={(e) => props.onDescription(e.target.value)} maxLength={512} rows={2} />
      </label>
    </>
  );
}
