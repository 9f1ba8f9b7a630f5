/**
 * JSON as the real devices write it: serde_json without `preserve_order`, so object keys are
 * sorted at every depth (`{"payload":…,"timestamp":…,"type":…}`, `type` last) and the output
 * is compact. Keys compare by code unit, as Rust's `BTreeMap<String, _>` does for them.
 */
export function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : sortedJson(item))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
}
