import { memo, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import type { Node } from '../api/types';
import { HealthBadge, StatusBadge } from '../components/Badges';
import { formatBitrate, formatUptime } from '../components/format';
import { Sparkline } from '../components/Sparkline';
import { useLiveFeed } from '../live/LiveFeedProvider';
import { ALARMS_PATH } from './events/filters';

const NodeCard = memo(function NodeCard({ node, history }: { node: Node; history: number[] | undefined }) {
  const s = node.status === 'online' ? node.summary : null;
  const relay = node.device_type === 'relay';
  return (
    <Link to={`/nodes/${node.id}`} className={`node-card ${node.status}`} data-testid="node-card" data-node-id={node.id} data-status={node.status}>
      <div className="node-card-head">
        <span className="node-name">{node.name}</span>
        <span className={`type-badge type-${node.device_type}`}>{node.device_type}</span>
      </div>
      <div className="node-card-badges">
        <StatusBadge status={node.status} />
        <HealthBadge health={node.status === 'online' ? node.health : null} />
        <span className="muted">{node.software_version ?? ''}</span>
      </div>
      <dl className="node-card-stats">
        {relay ? (
          <>
            <dt>Tunnels</dt>
            <dd>{s?.tunnels_active ?? '—'}</dd>
            <dt>Edges</dt>
            <dd>{s?.metrics?.connected_edges ?? '—'}</dd>
          </>
        ) : (
          <>
            <dt>Flows</dt>
            <dd data-testid="flows">{s?.flows_total !== undefined ? `${s.flows_active ?? 0}/${s.flows_total}` : '—'}</dd>
          </>
        )}
        <dt>Bitrate</dt>
        <dd data-testid="bitrate">{formatBitrate(s?.bitrate_bps)}</dd>
        <dt>Uptime</dt>
        <dd>{formatUptime(s?.uptime_secs)}</dd>
      </dl>
      <Sparkline values={history ?? []} />
    </Link>
  );
});

/** Fleet overview: headline cards and a live grid of every node the user may see. */
export function DashboardPage() {
  const feed = useLiveFeed();
  const [q, setQ] = useState('');
  const [type, setType] = useState('');
  const [status, setStatus] = useState('');
  const [hideOffline, setHideOffline] = useState(false);

  const nodes = useMemo(() => [...(feed.nodes?.values() ?? [])], [feed.nodes]);
  const online = nodes.filter((n) => n.status === 'online').length;
  const types = useMemo(() => [...new Set(nodes.map((n) => n.device_type))].sort(), [nodes]);
  const shown = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return nodes
      .filter((n) => !needle || n.name.toLowerCase().includes(needle) || (n.description ?? '').toLowerCase().includes(needle))
      .filter((n) => !type || n.device_type === type)
      .filter((n) => !status || n.status === status)
      .filter((n) => !hideOffline || n.status !== 'offline')
      .sort((a, b) => Number(b.status === 'online') - Number(a.status === 'online') || a.name.localeCompare(b.name));
  }, [nodes, q, type, status, hideOffline]);

  if (feed.nodes === null) return <div className="loading">Loading the fleet…</div>;

  return (
    <>
      <h1>Dashboard</h1>
      <section className="cards" aria-label="Summary">
        <div className="card" data-testid="card-total">
          <div className="card-value">{nodes.length}</div>
          <div className="card-label">Total nodes</div>
        </div>
        <div className="card" data-testid="card-online">
          <div className="card-value ok">{online}</div>
          <div className="card-label">Online</div>
        </div>
        <div className="card" data-testid="card-offline">
          <div className="card-value">{nodes.filter((n) => n.status === 'offline').length}</div>
          <div className="card-label">Offline</div>
        </div>
        <Link to={ALARMS_PATH} className="card" data-testid="card-alarms">
          <div className={`card-value ${feed.eventCount?.critical ? 'bad' : feed.eventCount?.warning ? 'warn' : ''}`}>{feed.eventCount?.count ?? 0}</div>
          <div className="card-label">Active alarms</div>
        </Link>
      </section>
      <section className="toolbar" aria-label="Filters">
        <label>
          Search
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Name or description" />
        </label>
        {/* Selects get their label through htmlFor: nested, Chromium adds the chosen option to the name. */}
        <div className="field">
          <label htmlFor="dashboard-type">Type</label>
          <select id="dashboard-type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">All types</option>
            {types.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="dashboard-status">Status</label>
          <select id="dashboard-status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any status</option>
            <option value="online">Online</option>
            <option value="offline">Offline</option>
            <option value="pending">Pending</option>
          </select>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={hideOffline} onChange={(e) => setHideOffline(e.target.checked)} /> Hide offline
        </label>
      </section>
      {nodes.length === 0 ? (
        <p className="empty">No nodes yet. An administrator adds them under Administration → Nodes.</p>
      ) : (
        <section className="node-grid" aria-label="Nodes">
          {shown.map((node) => (
            <NodeCard key={node.id} node={node} history={feed.bitrateHistory.get(node.id)} />
          ))}
        </section>
      )}
    </>
  );
}
