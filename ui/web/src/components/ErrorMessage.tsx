import { ApiError } from '../api/client';

/** An API error as the user should read it: the server's message, its code, and field errors. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiError) {
    return (
      <div className="error-box" role="alert">
        <strong>{error.message}</strong> <code className="error-code">{error.code}</code>
        {error.fieldErrors.length > 0 && (
          <ul>
            {error.fieldErrors.map((e) => (
              <li key={`${e.path}-${e.type}`}>{e.message}</li>
            ))}
          </ul>
        )}
      </div>
    );
  }
  return (
    <div className="error-box" role="alert">
      {error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error)}
    </div>
  );
}
