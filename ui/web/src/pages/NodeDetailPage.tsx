import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, ApiError } from '../api/client';
import type { CommandInfo, DeviceType } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { ErrorMessage } from '../components/ErrorMessage';
import { formatDateTime } from '../components/format';
import { useLiveFeed, useNodeStats } from '../live/LiveFeedProvider';
import { BitrateChart } from './node-detail/BitrateChart';
import type { CommandResult } from './node-detail/command-result';
import { ConfigPanel } from './node-detail/ConfigPanel';
import { NodeEvents } from './node-detail/NodeEvents';
import { NodeHeader } from './node-detail/NodeHeader';
import { StatsSection } from './node-detail/StatsPanels';
import { Thumbnails } from './node-detail/Thumbnails';
import type { NodeRecord, StatsResponse } from './node-detail/types';
import { commandRole, flowsOf } from './node-detail/util';
import './node-detail/node-detail.css';

// The generated command forms (rjsf and its validator) load only with this page.
const CommandsPanel = lazy(() => import('./node-detail/CommandsPanel').then((m) => ({ default: m.CommandsPanel })));

/** One node: status, live flows and bitrate, events, thumbnails, commands and its config. */
export function NodeDetailPage() {
  const { id } = useParams();
  if (!id) return <p>Page not found.</p>;
  // A different node is a fresh page (no state carried over).
  return <NodeDetail key={id} id={id} />;
}

function NodeDetail({ id }: { id: string }) {
  const { can } = useAuth();
  const feed = useLiveFeed();
  const live = useNodeStats(id);
  const [record, setRecord] = useState<NodeRecord | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [initialStats, setInitialStats] = useState<StatsResponse | null>(null);
  const [deviceType, setDeviceType] = useState<DeviceType | null>(null);
  const [deviceTypeError, setDeviceTypeError] = useState<unknown>(null);
  const [configReload, setConfigReload] = useState(0);

  const fromFeed = feed.nodes?.get(id);

  // Reads overlap (status changes, the 15 s poll): only the latest one's answer is kept.
  const latestRead = useRef(0);
  const loadRecord = useCallback(() => {
    const read = ++latestRead.current;
    return api.get<NodeRecord>(`/api/v1/nodes/${id}`).then(
      (next) => {
        if (read !== latestRead.current) return;
        setRecord(next);
        setLoadError(null);
      },
      (err: unknown) => {
        if (read === latestRead.current) setLoadError(err);
      }
    );
  }, [id]);

  useEffect(() => {
    api.get<StatsResponse>(`/api/v1/nodes/${id}/stats`).then(setInitialStats, () => undefined);
  }, [id]);

  // The connection details (thumbnails, sign-in method) change when the node (re)connects,
  // and thumbnails appear over time: re-read the record then, and every 15 s while online.
  // A node the feed drops (status undefined) is read again too: deleted, that read is a 404.
  const status = fromFeed?.status;
  const connectedAt = fromFeed?.connected_at;
  useEffect(() => {
    void loadRecord();
    if (status !== 'online') return;
    const timer = window.setInterval(() => void loadRecord(), 15_000);
    return () => window.clearInterval(timer);
  }, [status, connectedAt, loadRecord]);

  const deviceTypeName = record?.device_type;
  useEffect(() => {
    if (!deviceTypeName) return;
    api.get<DeviceType>(`/api/v1/device-types/${encodeURIComponent(deviceTypeName)}`).then(setDeviceType, setDeviceTypeError);
  }, [deviceTypeName]);

  // The live feed's copy of the node (status, health, summary) wins over the fetched one.
  const node: NodeRecord | null = record ? { ...record, ...(fromFeed ?? {}), connection: record.connection } : null;
  const stats = live?.stats ?? initialStats?.stats ?? null;
  const health = feed.healthPayload.get(id) ?? initialStats?.health ?? null;
  const flows = flowsOf(stats) ?? [];
  // (A new array with every stats message: CommandsPanel rebuilds its form only when the ids change.)
  const flowIds = flows.map((f) => f.flow_id);
  const flowNames = new Map<string, string>(flows.filter((f) => f.flow_id).map((f) => [f.flow_id, f.flow_name ?? f.flow_id]));

  const onCommandCompleted = useCallback((command: CommandInfo, result: CommandResult) => {
    if (result.ok && command.mutates !== false && command.name !== 'get_config') setConfigReload((n) => n + 1);
  }, []);

  const notFound = loadError instanceof ApiError && loadError.status === 404;
  if (loadError && (!record || notFound)) {
    return (
      <>
        <p>
          <Link to="/">← Dashboard</Link>
        </p>
        <h1>{record?.name ?? 'Node'}</h1>
        {notFound ? (
          <div className="error-box" role="alert">
            {record ? 'This node was deleted, or you no longer have access to it.' : 'This node does not exist, or you do not have access to it.'}{' '}
            <code className="error-code">{loadError.code}</code>
          </div>
        ) : (
          <ErrorMessage error={loadError} />
        )}
      </>
    );
  }
  if (!node) return <div className="loading">Loading the node…</div>;

  const online = node.status === 'online';
  const updateConfig = deviceType?.supported_commands.find((c) => c.name === 'update_config');
  const canEditConfig = !!updateConfig && can(commandRole(updateConfig));

  return (
    <div className="node-detail">
      <nav className="nd-breadcrumb" aria-label="Breadcrumb">
        <Link to="/">Dashboard</Link> <span aria-hidden="true">/</span> <span>{node.name}</span>
      </nav>
      {!online && (
        <div className="nd-offline" role="status" data-testid="offline-banner">
          <strong>{node.status === 'pending' ? 'Not registered yet' : 'Offline — last known data shown'}</strong>
          {node.last_seen_at && <span> · last seen {formatDateTime(node.last_seen_at)}</span>}
        </div>
      )}
      <NodeHeader node={node} displayName={deviceType?.display_name} />
      <BitrateChart nodeId={id} live={live} />
      <StatsSection stats={stats} metrics={node.summary?.metrics} online={online} />
      {node.connection && node.connection.thumbnails.length > 0 && <Thumbnails nodeId={id} thumbnails={node.connection.thumbnails} flowNames={flowNames} />}
      <div className="nd-columns">
        <div className="nd-column">
          <ErrorMessage error={deviceTypeError} />
          <Suspense
            fallback={
              <section className="panel">
                <h2>Commands</h2>
                <p className="muted">Loading…</p>
              </section>
            }
          >
            <CommandsPanel nodeId={id} deviceType={deviceType} flowIds={flowIds} online={online} onCompleted={onCommandCompleted} />
          </Suspense>
          {can('operator') && (
            <ConfigPanel nodeId={id} online={online} canEdit={canEditConfig} reloadToken={configReload} onApplied={() => setConfigReload((n) => n + 1)} />
          )}
        </div>
        <div className="nd-column">
          <NodeEvents nodeId={id} />
          {!!health && (
            <section className="panel" aria-labelledby="health-heading">
              <h2 id="health-heading">Health report</h2>
              <details className="nd-details">
                <summary>Last health message from the node</summary>
                <pre>{JSON.stringify(health, null, 2)}</pre>
              </details>
            </section>
          )}
        </div>
      </div>
    </div>
  );
}
