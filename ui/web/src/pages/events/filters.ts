import type { NodeEvent, Severity } from '../../api/types';

export const PER_PAGE = 50;

/** The listing's filters as they appear in the page's URL (and, unchanged, in the API query). */
export interface EventFilters {
  /** '' = all, or a comma-separated list of severities, least severe first (e.g. 'warning,critical'). */
  severity: string;
  node_id: string;
  category: string;
  /** '' = all, 'false' = unacknowledged, 'true' = acknowledged. */
  acknowledged: '' | 'true' | 'false';
  /** ISO-8601 times. */
  from: string;
  to: string;
  q: string;
}

export const FILTER_KEYS = ['severity', 'node_id', 'category', 'acknowledged', 'from', 'to', 'q'] as const;
const SEVERITIES: Severity[] = ['info', 'warning', 'critical'];

/** The events the alarm count (`GET /api/v1/events/count`) counts. */
export const ALARMS_PATH = '/events?acknowledged=false&severity=warning,critical';

/** A severity list in the one order the Severity select uses; '' when any part is unknown. */
function severityFilter(value: string): string {
  const parts = new Set(value.split(',').map((s) => s.trim()));
  if (![...parts].every((s) => (SEVERITIES as string[]).includes(s))) return '';
  return SEVERITIES.filter((s) => parts.has(s)).join(',');
}

export function filtersFromParams(params: URLSearchParams): EventFilters {
  const acknowledged = params.get('acknowledged') ?? '';
  return {
    severity: severityFilter(params.get('severity') ?? ''),
    node_id: params.get('node_id') ?? '',
    category: params.get('category') ?? '',
    acknowledged: acknowledged === 'true' || acknowledged === 'false' ? acknowledged : '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    q: params.get('q') ?? ''
  };
}

export function pageFromParams(params: URLSearchParams): number {
  const page = Number(params.get('page'));
  return Number.isInteger(page) && page >= 1 ? page : 1;
}

/** `GET /api/v1/events` query for these filters and page. */
export function listQuery(filters: EventFilters, page: number): string {
  const query = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key].trim();
    if (value) query.set(key, value);
  }
  query.set('page', String(page));
  query.set('per_page', String(PER_PAGE));
  return query.toString();
}

/** The bulk acknowledgement's `filter` (the listing's filters except `acknowledged`). */
export function ackFilter(filters: EventFilters): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const key of FILTER_KEYS) {
    const value = filters[key].trim();
    if (key !== 'acknowledged' && value) filter[key] = value;
  }
  return filter;
}

export function hasFilters(filters: EventFilters): boolean {
  return FILTER_KEYS.some((key) => filters[key] !== '');
}

/** Whether a new (live) event belongs in the listing, as the server would decide. */
export function matchesFilters(event: NodeEvent, filters: EventFilters): boolean {
  if (filters.severity && !filters.severity.split(',').includes(event.severity)) return false;
  if (filters.node_id && event.node_id !== filters.node_id.toLowerCase()) return false;
  if (filters.category && event.category !== filters.category) return false;
  if (filters.acknowledged === 'true' && !event.acknowledged) return false;
  if (filters.acknowledged === 'false' && event.acknowledged) return false;
  const at = Date.parse(event.created_at);
  if (filters.from && at < Date.parse(filters.from)) return false;
  if (filters.to && at > Date.parse(filters.to)) return false;
  const q = filters.q.trim().toLowerCase();
  if (q && !event.message.toLowerCase().includes(q) && !event.category.toLowerCase().includes(q)) return false;
  return true;
}

/** ISO time → the value of a datetime-local input (local time, minutes). */
export function isoToLocalInput(iso: string): string {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local input's value (local time) → ISO; `to` includes its whole minute. */
export function localInputToIso(value: string, end = false): string {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  if (end && date.getSeconds() === 0 && date.getMilliseconds() === 0) date.setSeconds(59, 999);
  return date.toISOString();
}
