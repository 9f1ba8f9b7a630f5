import { useState } from 'react';

const KEY = 'bilbycast.failedSignIns';

/** Keeps, for the first page after signing in, how many failed sign-ins the account had since the previous sign-in. */
export function rememberSignInNotice(failedSignIns: number | undefined): void {
  if (failedSignIns && failedSignIns > 0) sessionStorage.setItem(KEY, String(failedSignIns));
  else sessionStorage.removeItem(KEY);
}

/** The notice that someone has been trying the account: shown once after signing in, until dismissed. */
export function SignInNotice() {
  const [count, setCount] = useState(() => Number(sessionStorage.getItem(KEY) ?? 0));
  if (!count) return null;
  const dismiss = () => {
    sessionStorage.removeItem(KEY);
    setCount(0);
  };
  return (
    <div className="banner" role="alert" data-testid="sign-in-notice">
      {count === 1 ? 'There was 1 failed sign-in' : `There were ${count} failed sign-ins`} to your account since you last signed in. If that was not you, change
      your password on the My account page.{' '}
      <button type="button" className="secondary small" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}
