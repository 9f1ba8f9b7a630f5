import { cloneElement, useId, type ReactElement, type ReactNode } from 'react';

/**
 * A labelled input with an optional hint below it. The hint is linked with
 * aria-describedby, so it is read out without becoming part of the input's name.
 */
export function Field({
  label,
  hint,
  className,
  children
}: {
  label: ReactNode;
  hint?: ReactNode;
  className?: string;
  children: ReactElement<{ 'aria-describedby'?: string }>;
}) {
  const hintId = useId();
  return (
    <div className={`field ${className ?? ''}`}>
      <label>
        {label}
        {hint ? cloneElement(children, { 'aria-describedby': hintId }) : children}
      </label>
      {hint && (
        <span className="hint" id={hintId}>
          {hint}
        </span>
      )}
    </div>
  );
}
