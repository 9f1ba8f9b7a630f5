import { useEffect, useState } from 'react';
import type { ThumbnailInfo } from './types';

const REFRESH_MS = 5000;

/**
 * One flow's latest thumbnail, refetched every 5 s. The thumbnail route refuses unknown
 * query parameters (no cache-busting `?t=`), so the image is fetched and shown as a blob URL.
 */
function Thumbnail({ nodeId, thumbnail, label }: { nodeId: string; thumbnail: ThumbnailInfo; label: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const src = `/api/v1/nodes/${nodeId}/thumbnails/${encodeURIComponent(thumbnail.flow_id)}${thumbnail.input_id ? `?input_id=${encodeURIComponent(thumbnail.input_id)}` : ''}`;

  useEffect(() => {
    let current: string | null = null;
    let stopped = false;
    const load = async () => {
      try {
        const res = await fetch(src, { credentials: 'same-origin', cache: 'no-store' });
        if (stopped) return;
        if (!res.ok) {
          setMissing(true);
          return;
        }
        const blob = await res.blob();
        if (stopped) return;
        const next = URL.createObjectURL(blob);
        if (current) URL.revokeObjectURL(current);
        current = next;
        setUrl(next);
        setMissing(false);
      } catch {
        // Network hiccup: keep the last image, try again on the next tick.
      }
    };
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
      if (current) URL.revokeObjectURL(current);
    };
  }, [src]);

  return (
    <figure className="nd-thumb" data-thumb-flow-id={thumbnail.flow_id}>
      {url && !missing ? (
        <img src={url} alt={`Latest thumbnail of ${label}`} width={thumbnail.width ?? 320} height={thumbnail.height ?? 180} />
      ) : (
        <div className="nd-thumb-empty">{missing ? 'No thumbnail' : 'Loading…'}</div>
      )}
      <figcaption>
        {label}
        {thumbnail.input_id && <span className="muted"> · {thumbnail.input_id}</span>}
      </figcaption>
    </figure>
  );
}

/** The latest thumbnail of each flow that sends them. */
export function Thumbnails({ nodeId, thumbnails, flowNames }: { nodeId: string; thumbnails: ThumbnailInfo[]; flowNames: Map<string, string> }) {
  if (thumbnails.length === 0) return null;
  const sorted = [...thumbnails].sort((a, b) => a.flow_id.localeCompare(b.flow_id) || (a.input_id ?? '').localeCompare(b.input_id ?? ''));
  return (
    <section className="panel" aria-labelledby="thumbs-heading">
      <h2 id="thumbs-heading">Thumbnails</h2>
      <div className="nd-thumbs">
        {sorted.map((t) => (
          <Thumbnail key={`${t.flow_id}\u0000${t.input_id ?? ''}`} nodeId={nodeId} thumbnail={t} label={flowNames.get(t.flow_id) ?? t.flow_id} />
        ))}
      </div>
    </section>
  );
}
