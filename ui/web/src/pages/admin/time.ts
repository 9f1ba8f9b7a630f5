/** Conversions between ISO-8601 times and `<input type="datetime-local">` values (local time). */

const pad = (n: number) => String(n).padStart(2, '0');

/** "2030-01-02T03:04:05.000Z" → "2030-01-02T14:04" in the browser's time zone; "" for none. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value → ISO-8601 UTC, or null when empty (or unparseable: the server will say). */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

export function isPast(iso: string | null | undefined, now = Date.now()): boolean {
  return !!iso && Date.parse(iso) <= now;
}
