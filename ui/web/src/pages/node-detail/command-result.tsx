import { api, ApiError } from '../../api/client';
import { ErrorMessage } from '../../components/ErrorMessage';

/** What a command answered: the device's data, or the manager's / device's error. */
export type CommandResult = { command: string; ok: true; data: unknown } | { command: string; ok: false; error: unknown };

/** POST /api/v1/nodes/{id}/command with `{action: {type, ...params}}`. */
export async function runCommand(nodeId: string, type: string, params: Record<string, unknown>): Promise<CommandResult> {
  try {
    const res = await api.post<{ success: boolean; data: unknown }>(`/api/v1/nodes/${nodeId}/command`, { action: { ...params, type } });
    return { command: type, ok: true, data: res.data };
  } catch (error) {
    return { command: type, ok: false, error };
  }
}

/** A command's outcome: the data in a success box, or the error with its code. */
export function ResultView({ result }: { result: CommandResult | null }) {
  if (!result) return null;
  if (result.ok) {
    return (
      <div className="success-box nd-result" role="status" data-testid="command-result" data-outcome="success">
        <strong>{result.command} succeeded.</strong>
        {result.data === null || result.data === undefined ? <span> The node returned no data.</span> : <pre>{JSON.stringify(result.data, null, 2)}</pre>}
      </div>
    );
  }
  const details = result.error instanceof ApiError ? result.error.body.details : null;
  return (
    <div className="nd-result" data-testid="command-result" data-outcome="failure">
      <ErrorMessage error={result.error} />
      {!!details && (
        <details className="nd-details">
          <summary>Details from the device</summary>
          <pre>{JSON.stringify(details, null, 2)}</pre>
        </details>
      )}
    </div>
  );
}
