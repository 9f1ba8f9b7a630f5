import { useState, type ReactNode } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage';

/** A yes/no question whose "yes" calls the server; a refusal stays in the dialog. */
export function ConfirmAction({
  text,
  confirmLabel,
  danger,
  onCancel,
  run,
  renderError = (error) => <ErrorMessage error={error} />
}: {
  text: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onCancel: () => void;
  run: () => Promise<void>;
  renderError?: (error: unknown) => ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await run();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <div>
      <p className="confirm-text">{text}</p>
      {error !== null && renderError(error)}
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className={danger ? 'danger' : undefined} disabled={busy} onClick={() => void confirm()}>
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </div>
  );
}
