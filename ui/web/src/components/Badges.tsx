import type { Health, NodeStatus, Severity } from '../api/types';

export function StatusBadge({ status }: { status: NodeStatus }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function HealthBadge({ health }: { health: Health | null }) {
  return health ? <span className={`badge health-${health}`}>{health}</span> : <span className="badge muted">—</span>;
}

export function SeverityBadge({ severity }: { severity: Severity }) {
  return <span className={`badge severity-${severity}`}>{severity}</span>;
}
