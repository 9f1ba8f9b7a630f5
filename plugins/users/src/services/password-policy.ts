/** The one password policy, used by the API, the CLI and the environment bootstrap alike. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** Reasons a password fails the policy; empty when it passes. */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`must be at most ${PASSWORD_MAX_LENGTH} characters`);
  if (!/\p{Lu}/u.test(password)) problems.push('must contain an upper-case letter');
  if (!/\p{Ll}/u.test(password)) problems.push('must contain a lower-case letter');
  if (!/\p{Nd}/u.test(password)) problems.push('must contain a digit');
  return problems;
}
