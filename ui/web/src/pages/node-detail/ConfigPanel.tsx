import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { CopyButton } from '../../components/CopyButton';
import { ErrorMessage } from '../../components/ErrorMessage';
import { formatDateTime, formatRelative } from '../../components/format';
import { useNow } from '../../components/useNow';
import { ResultView, runCommand, type CommandResult } from './command-result';
import type { ConfigResponse } from './types';

/**
 * The node's own configuration (operator+): cached by the manager or fetched live, with a
 * Copy button; and, when the driver has `update_config` and the user may run it, a JSON
 * editor that applies a whole configuration.
 */
export function ConfigPanel({
  nodeId,
  online,
  canEdit,
  reloadToken,
  onApplied
}: {
  nodeId: string;
  online: boolean;
  /** The driver has update_config and the user's role may run it. */
  canEdit: boolean;
  /** Changes when a command changed the node (the cached config is stale). */
  reloadToken: number;
  onApplied: (result: CommandResult) => void;
}) {
  const now = useNow(10_000);
  const [config, setConfig] = useState<ConfigResponse | null>(null);
  // (Online, it loads at once: see below.)
  const [loading, setLoading] = useState(online);
  const [error, setError] = useState<unknown>(null);
  const [text, setText] = useState('');
  const dirty = useRef(false);
  const [parseError, setParseError] = useState<string | null>(null);
  const [applying, setApplying] = useState(false);
  const [result, setResult] = useState<CommandResult | null>(null);

  // Loads overlap (the node reconnects, a command completes): only the latest one's answer
  // is shown, and it is loading until that one is done.
  const latestLoad = useRef(0);
  /** Reads the config (`loading` and `error` are reset by whoever starts the load). */
  const load = useCallback(
    (refresh: boolean) => {
      const current = ++latestLoad.current;
      return api.get<ConfigResponse>(`/api/v1/nodes/${nodeId}/config${refresh ? '?refresh=true' : ''}`).then(
        (response) => {
          if (current !== latestLoad.current) return;
          setConfig(response);
          if (!dirty.current) setText(JSON.stringify(response.config, null, 2));
          setLoading(false);
        },
        (err: unknown) => {
          if (current !== latestLoad.current) return;
          setError(err);
          setLoading(false);
        }
      );
    },
    [nodeId]
  );

  // The node's config once it is online, and again after a command changed it: loading from
  // the render where that happens.
  const [requested, setRequested] = useState({ nodeId, online, reloadToken });
  if (requested.nodeId !== nodeId || requested.online !== online || requested.reloadToken !== reloadToken) {
    setRequested({ nodeId, online, reloadToken });
    if (online) {
      setLoading(true);
      setError(null);
    }
  }
  useEffect(() => {
    if (online) void load(false);
  }, [online, reloadToken, load]);

  const refreshFromNode = () => {
    setLoading(true);
    setError(null);
    void load(true);
  };

  const apply = async (e: FormEvent) => {
    e.preventDefault();
    setResult(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      setParseError(`Invalid JSON: ${err instanceof Error ? err.message : String(err)}. Nothing was sent.`);
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      setParseError('The configuration must be a JSON object. Nothing was sent.');
      return;
    }
    setParseError(null);
    setApplying(true);
    const outcome = await runCommand(nodeId, 'update_config', { config: parsed });
    setApplying(false);
    setResult(outcome);
    if (outcome.ok) dirty.current = false;
    onApplied(outcome);
  };

  const json = config ? JSON.stringify(config.config, null, 2) : '';

  return (
    <section className="panel" aria-labelledby="config-heading">
      <div className="nd-section-head">
        <h2 id="config-heading">Configuration</h2>
        <div className="row">
          <button type="button" className="secondary small" onClick={refreshFromNode} disabled={loading}>
            {loading ? 'Fetching…' : 'Refresh from node'}
          </button>
          {config && <CopyButton text={json} label="Copy config" />}
        </div>
      </div>
      <ErrorMessage error={error} />
      {!config && !error && <p className="muted">{online ? 'Loading the configuration…' : 'The node is offline: its configuration cannot be read.'}</p>}
      {config && (
        <>
          <p className="muted nd-small" data-testid="config-meta">
            {config.cached ? 'Cached copy' : 'Fetched from the node'} ·{' '}
            <span title={formatDateTime(config.fetched_at)}>{formatRelative(config.fetched_at, now)}</span>
          </p>
          <pre className="nd-config" data-testid="node-config" tabIndex={0} aria-label="Node configuration">
            {json}
          </pre>
        </>
      )}
      {canEdit && (
        <form className="nd-config-editor" onSubmit={(e) => void apply(e)} aria-labelledby="config-editor-heading">
          <h3 id="config-editor-heading" className="nd-subheading">
            Edit and apply (update_config)
          </h3>
          <div className="nd-field">
            <label htmlFor="config-editor">Configuration JSON</label>
            <textarea
              id="config-editor"
              rows={16}
              spellCheck={false}
              value={text}
              onChange={(e) => {
                dirty.current = true;
                setText(e.target.value);
                setParseError(null);
              }}
            />
          </div>
          <p className="muted nd-small">
            The whole configuration is replaced; the node applies the differences. Secrets (passphrases, keys, tokens) are shown as <code>***REDACTED***</code>:
            leave them as they are to keep them, or type a new value.
          </p>
          {parseError && (
            <div className="error-box" role="alert" data-testid="config-parse-error">
              {parseError}
            </div>
          )}
          <div className="row">
            <button type="submit" disabled={applying || text.trim() === ''}>
              {applying ? 'Applying…' : 'Apply'}
            </button>
            <button
              type="button"
              className="secondary"
              disabled={applying || !config}
              onClick={() => {
                dirty.current = false;
                setText(json);
                setParseError(null);
                setResult(null);
              }}
            >
              Reset to the node’s config
            </button>
          </div>
          <ResultView result={result} />
        </form>
      )}
    </section>
  );
}
