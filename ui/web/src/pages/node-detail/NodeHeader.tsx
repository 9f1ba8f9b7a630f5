import { useState } from 'react';
import { HealthBadge, StatusBadge } from '../../components/Badges';
import { CopyButton } from '../../components/CopyButton';
import { formatBitrate, formatDateTime, formatRelative, formatUptime } from '../../components/format';
import { useNow } from '../../components/useNow';
import type { NodeRecord } from './types';

const CHIPS_SHOWN = 12;

/** Name, type, status and health, versions, connection, capabilities and headline numbers. */
export function NodeHeader({ node, displayName }: { node: NodeRecord; displayName: string | undefined }) {
  const now = useNow(5000);
  const [allChips, setAllChips] = useState(false);
  const online = node.status === 'online';
  const s = node.summary;
  const chips = allChips ? node.capabilities : node.capabilities.slice(0, CHIPS_SHOWN);
  const cpu = s?.metrics?.cpu_percent;
  const ram = s?.metrics?.ram_percent;

  return (
    <section className="panel nd-header" aria-labelledby="node-title" data-testid="node-header" data-status={node.status}>
      <div className="nd-title-row">
        <h1 id="node-title">{node.name}</h1>
        <span className={`type-badge type-${node.device_type}`} title={displayName}>
          {displayName ? `${displayName} (${node.device_type})` : node.device_type}
        </span>
        <StatusBadge status={node.status} />
        <span data-testid="node-health">
          <HealthBadge health={online ? node.health : null} />
        </span>
      </div>
      {node.description && <p className="muted nd-description">{node.description}</p>}
      <dl className="nd-facts">
        <div>
          <dt>Software</dt>
          <dd>{node.software_version ?? '—'}</dd>
        </div>
        <div>
          <dt>Protocol</dt>
          <dd>{node.protocol_version ?? '—'}</dd>
        </div>
        <div>
          <dt>Remote address</dt>
          <dd>{node.remote_addr ?? '—'}</dd>
        </div>
        <div>
          <dt>{online ? 'Connected' : 'Last seen'}</dt>
          <dd title={formatDateTime(online ? node.connected_at : node.last_seen_at)}>
            {online ? formatRelative(node.connected_at, now) : formatRelative(node.last_seen_at, now)}
          </dd>
        </div>
        {online && (
          <div>
            <dt>Last message</dt>
            <dd title={formatDateTime(node.last_seen_at)}>{formatRelative(node.last_seen_at, now)}</dd>
          </div>
        )}
        {node.connection && (
          <div>
            <dt>Signed in with</dt>
            <dd>{node.connection.auth_method === 'auth_ok' ? 'node secret' : 'registration token'}</dd>
          </div>
        )}
        <div>
          <dt>Node id</dt>
          <dd className="nd-id">
            <code>{node.id}</code> <CopyButton text={node.id} label="Copy id" />
          </dd>
        </div>
      </dl>
      {node.status === 'pending' && <p className="muted">This node has not registered yet: start it with its registration token.</p>}

      <section className="cards nd-cards" aria-label="Summary">
        <div className="card">
          <div className="card-value" data-testid="node-bitrate">
            {formatBitrate(s?.bitrate_bps)}
          </div>
          <div className="card-label">Bitrate</div>
        </div>
        {s?.flows_total !== undefined && (
          <div className="card">
            <div className="card-value" data-testid="node-flows">{`${s.flows_active ?? 0}/${s.flows_total}`}</div>
            <div className="card-label">Flows active</div>
          </div>
        )}
        {s?.tunnels_total !== undefined && (s.tunnels_total > 0 || s.flows_total === undefined) && (
          <div className="card">
            <div className="card-value">{`${s.tunnels_active ?? 0}/${s.tunnels_total}`}</div>
            <div className="card-label">Tunnels active</div>
          </div>
        )}
        <div className="card">
          <div className="card-value">{formatUptime(s?.uptime_secs)}</div>
          <div className="card-label">Uptime</div>
        </div>
        {(cpu !== undefined || ram !== undefined) && (
          <div className="card">
            <div className="card-value">
              {cpu !== undefined ? `${Math.round(cpu)}%` : '—'} <span className="muted nd-small">/ {ram !== undefined ? `${Math.round(ram)}%` : '—'}</span>
            </div>
            <div className="card-label">CPU / RAM</div>
          </div>
        )}
      </section>

      {node.capabilities.length > 0 && (
        <div className="nd-capabilities">
          <h2 id="capabilities-heading" className="nd-subheading">
            Capabilities <span className="muted">({node.capabilities.length})</span>
          </h2>
          <ul className="chips" aria-labelledby="capabilities-heading">
            {chips.map((c) => (
              <li key={c} className="chip">
                {c}
              </li>
            ))}
          </ul>
          {node.capabilities.length > CHIPS_SHOWN && (
            <button type="button" className="secondary small" aria-expanded={allChips} onClick={() => setAllChips((v) => !v)}>
              {allChips ? 'Show fewer' : `Show all ${node.capabilities.length}`}
            </button>
          )}
        </div>
      )}
    </section>
  );
}
