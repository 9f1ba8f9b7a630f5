import { useEffect, useRef } from 'react';

/**
 * After a dialog closes, the browser returns focus to the control that opened it — unless
 * that control went away (the row of a deleted item), which leaves focus on the page body.
 * `requestFocus()` before closing such a dialog moves focus to `target` (e.g. the list's
 * heading, with tabIndex -1) once it has closed.
 */
export function useFocusAfterClose<T extends HTMLElement>(dialogOpen: boolean) {
  const target = useRef<T>(null);
  const pending = useRef(false);
  useEffect(() => {
    if (dialogOpen || !pending.current) return;
    pending.current = false;
    target.current?.focus();
  }, [dialogOpen]);
  return {
    target,
    requestFocus: () => {
      pending.current = true;
    }
  };
}
