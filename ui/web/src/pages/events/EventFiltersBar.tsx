import { useEffect, useEffectEvent, useMemo, useRef, useState } from 'react';
import type { Node } from '../../api/types';
import { isoToLocalInput, localInputToIso, type EventFilters } from './filters';

const DEBOUNCE_MS = 300;

const SEVERITY_OPTIONS = ['warning,critical', 'critical', 'warning', 'info'];

/** "warning,critical" → "Warning + critical". */
function severityLabel(value: string): string {
  const words = value.split(',').join(' + ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A text filter that applies itself after a pause in typing (or at once on Enter). */
function DebouncedText({
  label,
  value,
  onCommit,
  type = 'text',
  placeholder
}: {
  label: string;
  value: string;
  onCommit: (value: string) => void;
  type?: string;
  placeholder?: string;
}) {
  const [text, setText] = useState(value);
  const committed = useRef(value);
  // The latest onCommit, without restarting the pause when the parent renders.
  const commitAfterPause = useEffectEvent((text: string) => onCommit(text));

  // The URL changed from elsewhere (a link, Back, "Clear filters"): show its value.
  useEffect(() => {
    if (value !== committed.current) {
      committed.current = value;
      setText(value);
    }
  }, [value]);

  useEffect(() => {
    if (text === committed.current) return;
    const timer = window.setTimeout(() => {
      committed.current = text;
      commitAfterPause(text);
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text]);

  return (
    <label>
      {label}
      <input
        type={type}
        value={text}
        placeholder={placeholder}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && text !== committed.current) {
            committed.current = text;
            onCommit(text);
          }
        }}
      />
    </label>
  );
}

/**
 * A datetime-local filter. A half-typed value reads as '' in the browser, so an empty value
 * is applied only when the field is left (a complete value applies at once).
 */
function DateTimeFilter({ label, value, end = false, onCommit }: { label: string; value: string; end?: boolean; onCommit: (iso: string) => void }) {
  const [text, setText] = useState(isoToLocalInput(value));
  const committed = useRef(value);

  useEffect(() => {
    if (value !== committed.current) {
      committed.current = value;
      setText(isoToLocalInput(value));
    }
  }, [value]);

  const commit = (local: string) => {
    const iso = localInputToIso(local, end);
    if (iso === committed.current) return;
    committed.current = iso;
    onCommit(iso);
  };

  return (
    <label>
      {label}
      <input
        type="datetime-local"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value) commit(e.target.value);
        }}
        onBlur={(e) => commit(e.target.value)}
      />
    </label>
  );
}

/** The listing's filters; every change goes to the URL (the page reads it back from there). */
export function EventFiltersBar({
  filters,
  nodes,
  onChange,
  onClear
}: {
  filters: EventFilters;
  nodes: Map<string, Node> | null;
  onChange: (changes: Partial<EventFilters>) => void;
  onClear: () => void;
}) {
  const sortedNodes = useMemo(() => [...(nodes?.values() ?? [])].sort((a, b) => a.name.localeCompare(b.name)), [nodes]);
  const unknownNode = filters.node_id !== '' && nodes !== null && !nodes.has(filters.node_id);
  // A linked combination that is not offered (e.g. "info,critical") is still shown as chosen.
  const severityOptions = filters.severity === '' || SEVERITY_OPTIONS.includes(filters.severity) ? SEVERITY_OPTIONS : [...SEVERITY_OPTIONS, filters.severity];

  return (
    <section className="toolbar events-filters" aria-label="Filters">
      <label>
        Severity
        <select value={filters.severity} onChange={(e) => onChange({ severity: e.target.value })}>
          <option value="">All</option>
          {severityOptions.map((value) => (
            <option key={value} value={value}>
              {severityLabel(value)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Node
        <select value={filters.node_id} onChange={(e) => onChange({ node_id: e.target.value })}>
          <option value="">All nodes</option>
          {unknownNode && <option value={filters.node_id}>Unknown node</option>}
          {sortedNodes.map((node) => (
            <option key={node.id} value={node.id}>
              {node.name}
            </option>
          ))}
        </select>
      </label>
      <DebouncedText label="Category" value={filters.category} onCommit={(category) => onChange({ category: category.trim() })} placeholder="e.g. srt" />
      <label>
        Acknowledged
        <select value={filters.acknowledged} onChange={(e) => onChange({ acknowledged: e.target.value as EventFilters['acknowledged'] })}>
          <option value="">All</option>
          <option value="false">Unacknowledged</option>
          <option value="true">Acknowledged</option>
        </select>
      </label>
      <DateTimeFilter label="From" value={filters.from} onCommit={(from) => onChange({ from })} />
      <DateTimeFilter label="To" value={filters.to} end onCommit={(to) => onChange({ to })} />
      <DebouncedText label="Search" type="search" value={filters.q} onCommit={(q) => onChange({ q })} placeholder="Message or category" />
      <button type="button" className="secondary" onClick={onClear}>
        Clear filters
      </button>
    </section>
  );
}
