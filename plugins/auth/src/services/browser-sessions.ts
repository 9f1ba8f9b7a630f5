import type { ClusterBus, ManagerCredentials } from '@bilbycast/core';
import type { Server } from '@hapi/hapi';
import { SESSION_COOKIE } from '../http/strategies';
import type { SessionStore } from './sessions';

/**
 * Authenticates a browser's WebSocket upgrade from its cookies (hapi routes do not see
 * upgrades); provided by this plugin as the `browserSessions` service (the nodes plugin's
 * dashboard feed uses it).
 */
export interface BrowserSessions {
  /**
   * The session's credentials, or null when the Cookie header carries no valid session. A
   * background re-check passes `touch: false`: it is not activity, so it never keeps an idle
   * session alive.
   */
  authenticate(cookieHeader: string | undefined, options?: { touch?: boolean }): Promise<ManagerCredentials | null>;
  /** Tells of sessions ended by a revocation (logout, password reset, disabled or deleted user), on any instance, so their sockets close at once. */
  onEnded(listener: (ended: EndedSessions) => void): () => void;
}

/** Sessions a revocation ended: the sessions with these ids, and/or every session of a user but one. */
export interface EndedSessions {
  sessionIds?: string[];
  userId?: string;
  exceptSessionId?: string;
}

declare module '@bilbycast/core' {
  interface ManagerServices {
    browserSessions: BrowserSessions;
  }
  interface BusTopics {
    /** Sessions a revocation ended (announced by the SessionStore). */
    'auth.sessions_ended': EndedSessions;
  }
}

/** What hapi's `server.states` (a statehood Definitions object) offers at run time. */
interface CookieParser {
  parse(header: string): Promise<{ states: Record<string, unknown> }>;
}

/** The service: the same sealed `session` cookie the HTTP routes accept, decoded by hapi's cookie definitions. */
export function browserSessions(server: Server, sessions: SessionStore, bus: ClusterBus): BrowserSessions {
  return {
    onEnded: (listener) => bus.subscribe('auth.sessions_ended', listener),
    async authenticate(cookieHeader, options) {
      if (!cookieHeader) return null;
      let states: Record<string, unknown>;
      try {
        ({ states } = await (server.states as unknown as CookieParser).parse(cookieHeader));
      } catch {
        return null; // a malformed Cookie header is simply no session
      }
      const sid = (states[SESSION_COOKIE] as { sid?: unknown } | undefined)?.sid;
      return typeof sid === 'string' ? sessions.authenticate(sid, options) : null;
    }
  };
}
