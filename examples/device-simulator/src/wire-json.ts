/**
 * JSON as the real devices write it: serde_json without `preserve_order`, so object keys are
 * sorted at every depth (`{"payload":…,"timestamp":…,"type":…}`, `type` last) and the output
 * is compact. Keys are ordered by their UTF-8 bytes, as Rust's `BTreeMap<String, _>` orders
 * them. Otherwise as `JSON.stringify`: `toJSON` is honoured, and undefined, functions and
 * symbols are left out of objects (null in arrays).
 */
export function sortedJson(value: unknown): string {
  return write(value) ?? 'null';
}

function write(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => write(item) ?? 'null').join(',')}]`;
  const fields: string[] = [];
  for (const key of Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const text = write((value as Record<string, unknown>)[key]);
    if (text !== undefined) fields.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${fields.join(',')}}`;
}

/** The text of a WebSocket frame as `ws` hands it over (a Buffer by default; an ArrayBuffer or the fragments when so configured). */
export function frameText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
