import type { RawData } from 'ws';

/** The text of a WebSocket frame as `ws` hands it over (a Buffer by default; an ArrayBuffer or the fragments when so configured). */
export function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
