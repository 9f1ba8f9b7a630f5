import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, writesSettled } from '../api/client';
import { roleAtLeast, type Role, type User } from '../api/types';
import { rememberSignInNotice } from '../app/SignInNotice';

interface AuthState {
  /** undefined while loading, null when signed out. */
  user: User | null | undefined;
  refresh: () => Promise<User | null>;
  /** Ends the session (one that had already ended counts as done); signed out here either way. */
  logout: () => Promise<void>;
  /** The signed-in user has at least this role (the server enforces it regardless). */
  can: (role: Role) => boolean;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);

  const refresh = useCallback(
    () =>
      // A write in flight may be replacing this session (its response sets the new cookie).
      writesSettled()
        .then(() => api.get<User>('/api/v1/auth/me'))
        .then(
          (me) => {
            setUser(me);
            return me;
          },
          (err: unknown) => {
            if (!(err instanceof ApiError && err.status === 401)) throw err;
            setUser(null);
            return null;
          }
        ),
    []
  );

  const logout = useCallback(async () => {
    // The next person to sign in in this tab must not see this account's notice.
    rememberSignInNotice(undefined);
    try {
      await api.post('/api/v1/auth/logout');
    } catch (err) {
      // 401: the session had already ended (revoked or expired elsewhere).
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    } finally {
      setUser(null);
    }
  }, []);

  useEffect(() => {
    refresh().catch(() => setUser(null));
  }, [refresh]);

  const value = useMemo<AuthState>(() => ({ user, refresh, logout, can: (role) => roleAtLeast(user?.role, role) }), [user, refresh, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error('useAuth outside AuthProvider');
  return state;
}
