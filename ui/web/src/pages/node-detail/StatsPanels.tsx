import type { DeviceStats } from '../../api/types';
import { formatBitrate, formatUptime } from '../../components/format';
import type { FlowStats } from './types';
import { flowsOf, humanize, rowsOf, scalar } from './util';

function stateClass(state: string | undefined): string {
  const s = (state ?? '').toLowerCase();
  if (['running', 'active', 'receiving', 'ok', 'healthy', 'connected', 'sending'].includes(s)) return 'ok';
  if (['idle', 'stopped', 'disabled', 'empty'].includes(s)) return 'idle';
  if (['error', 'failed', 'critical', 'unhealthy', 'down'].includes(s)) return 'bad';
  if (s) return 'warn';
  return 'idle';
}

function StateBadge({ state, testId }: { state: string | undefined; testId?: string }) {
  return (
    <span className={`badge nd-state nd-state-${stateClass(state)}`} data-testid={testId}>
      {state ?? '—'}
    </span>
  );
}

/** One row per flow: state (live), health, active input and outputs with their bitrates. */
export function FlowsTable({ flows }: { flows: FlowStats[] }) {
  if (flows.length === 0) return <p className="empty">No flows configured.</p>;
  return (
    <div className="table-scroll">
      <table className="nd-flows">
        <thead>
          <tr>
            <th scope="col">Flow</th>
            <th scope="col">State</th>
            <th scope="col">Health</th>
            <th scope="col">Input</th>
            <th scope="col">Outputs</th>
            <th scope="col">Uptime</th>
          </tr>
        </thead>
        <tbody>
          {flows.map((flow) => (
            <tr key={flow.flow_id} data-testid="flow-row" data-flow-id={flow.flow_id} data-flow-state={flow.state ?? ''}>
              <th scope="row">
                <div className="nd-flow-name">{flow.flow_name ?? flow.flow_id}</div>
                <code className="muted">{flow.flow_id}</code>
              </th>
              <td>
                <StateBadge state={flow.state} testId="flow-state" />
              </td>
              <td>{flow.health ? <StateBadge state={flow.health} /> : '—'}</td>
              <td>
                {flow.input ? (
                  <div className="nd-io">
                    <span>
                      {flow.input.input_type ?? 'input'}
                      {flow.active_input_id ? <code className="muted"> {flow.active_input_id}</code> : null}
                    </span>
                    <span>
                      {flow.input.state && <StateBadge state={flow.input.state} />}{' '}
                      {flow.input.bitrate_bps !== undefined && formatBitrate(flow.input.bitrate_bps)}
                    </span>
                    {flow.input.local_addr && <span className="muted">{flow.input.local_addr}</span>}
                  </div>
                ) : (
                  '—'
                )}
              </td>
              <td>
                {flow.outputs && flow.outputs.length > 0 ? (
                  <ul className="nd-outputs">
                    {flow.outputs.map((o, i) => (
                      <li key={o.output_id ?? i}>
                        <span>{o.output_name ?? o.output_id ?? `output ${i + 1}`}</span> <span className="muted">{o.output_type}</span>{' '}
                        {o.state && <StateBadge state={o.state} />} {o.bitrate_bps !== undefined && formatBitrate(o.bitrate_bps)}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <span className="muted">none</span>
                )}
              </td>
              <td>{formatUptime(flow.uptime_secs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Any list of objects a device reports (tunnels, edges, alarms…) as a table of its scalar fields. */
export function GenericTable({ rows, label, maxColumns = 8 }: { rows: Record<string, unknown>[]; label: string; maxColumns?: number }) {
  if (rows.length === 0) return <p className="muted">None.</p>;
  const columns: string[] = [];
  for (const row of rows.slice(0, 20)) {
    for (const [key, value] of Object.entries(row ?? {})) {
      if (!columns.includes(key) && (value === null || typeof value !== 'object')) columns.push(key);
    }
  }
  const shown = columns.slice(0, maxColumns);
  return (
    <div className="table-scroll">
      <table aria-label={label}>
        <thead>
          <tr>
            {shown.map((c) => (
              <th key={c} scope="col">
                {humanize(c)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 200).map((row, i) => (
            <tr key={i}>
              {shown.map((c) => (
                <td key={c}>{/bitrate|bandwidth|_bps$/.test(c) && typeof row[c] === 'number' ? formatBitrate(row[c]) : scalar(row[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The driver's summary metrics as a definition list. */
export function MetricsList({ metrics }: { metrics: Record<string, number> | undefined }) {
  const entries = Object.entries(metrics ?? {});
  if (entries.length === 0) return null;
  return (
    <dl className="nd-metrics" aria-label="Metrics">
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{humanize(key)}</dt>
          <dd>{/bitrate|bandwidth|_bps$/.test(key) ? formatBitrate(value) : scalar(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * What the node is doing, from its (live) stats: flows for edges and gateways, tunnels and
 * edges for relays, and the summary metrics for every kind.
 */
export function StatsSection({ stats, metrics, online }: { stats: DeviceStats | null; metrics: Record<string, number> | undefined; online: boolean }) {
  const flows = flowsOf(stats);
  const isRelay = !!stats && (Array.isArray(stats.edges) || 'connected_edges' in stats) && !flows;
  const tunnels = rowsOf(stats?.tunnels);
  const alarms = rowsOf(stats?.alarms);
  const edges = rowsOf(stats?.edges);
  const udpSessions = rowsOf(stats?.udp_sessions);

  return (
    <>
      {flows && (
        <section className="panel" aria-labelledby="flows-heading">
          <h2 id="flows-heading">Flows</h2>
          <FlowsTable flows={flows} />
        </section>
      )}
      {isRelay && (
        <section className="panel" aria-labelledby="relay-heading">
          <h2 id="relay-heading">Tunnels and edges</h2>
          <h3 className="nd-subheading">Tunnels</h3>
          <GenericTable rows={tunnels} label="Tunnels" />
          <h3 className="nd-subheading">Connected edges</h3>
          <GenericTable rows={edges} label="Connected edges" />
          {udpSessions.length > 0 && (
            <>
              <h3 className="nd-subheading">UDP sessions</h3>
              <GenericTable rows={udpSessions} label="UDP sessions" />
            </>
          )}
        </section>
      )}
      {flows && tunnels.length > 0 && (
        <section className="panel" aria-labelledby="tunnels-heading">
          <h2 id="tunnels-heading">Tunnels</h2>
          <GenericTable rows={tunnels} label="Tunnels" />
        </section>
      )}
      {alarms.length > 0 && (
        <section className="panel" aria-labelledby="alarms-heading">
          <h2 id="alarms-heading">Device alarms</h2>
          <GenericTable rows={alarms} label="Device alarms" />
        </section>
      )}
      {metrics && Object.keys(metrics).length > 0 && (
        <section className="panel" aria-labelledby="metrics-heading">
          <h2 id="metrics-heading">Metrics</h2>
          <MetricsList metrics={metrics} />
        </section>
      )}
      {!stats && online && <p className="muted">Waiting for the node’s first stats…</p>}
    </>
  );
}
