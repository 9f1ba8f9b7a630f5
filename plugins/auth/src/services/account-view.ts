import { toUser, type Account, type User } from '@bilbycast/users';

/** The caller's own account as the auth endpoints return it: the users API's view of it (never a password hash). */
export function accountView(account: Account, mfaEnabled: boolean): User {
  return { ...toUser(account), mfa_enabled: mfaEnabled };
}
