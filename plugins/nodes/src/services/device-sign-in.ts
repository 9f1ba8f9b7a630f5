import type { AuditLog } from '@bilbycast/core';
import type { Logger } from 'pino';
import { NodeAuthLimiter, type LockoutEpisode } from './auth-limiter';
import type { BackgroundWrites } from './background-writes';
import { credentialMatches, hashCredential, newNodeSecret } from './node-credentials';
import type { NodeDirectory } from './node-directory';
import type { NodeEvents } from './node-events';
import type { NodeRow } from './node-view';

export interface SignInOptions {
  failuresBeforeLockout: number;
  failuresPerAddress: number;
  lockoutWindowMs: number;
}

/** Who signs in: the limiter counts failures per source address (and per address and credential). */
interface SignInSource {
  address: string | null;
  limiterKey: string;
}

export type AuthResult =
  | ({ ok: true; row: NodeRow; method: 'auth_ok'; credentialHash: string } & SignInSource)
  | ({ ok: true; row: NodeRow; method: 'register_ack'; secret: string; tokenHash: string; credentialHash: string } & SignInSource)
  | { ok: false; message: string };

export type SignedIn = Extract<AuthResult, { ok: true }>;

/**
 * A device's `auth` (PROTOCOL.md §4): a registration token or a node id and secret, checked
 * within the sign-in limits, with lockout episodes reported once when they start and once when
 * a sign-in ends them.
 */
export class DeviceSignIn {
  readonly #limiter: NodeAuthLimiter;
  /** When a lockout was last reported per node (see #mayReportLockout). */
  readonly #lockoutReports = new Map<string, number>();

  constructor(
    private readonly deps: { directory: NodeDirectory; audit: AuditLog; logger: Logger; events: NodeEvents; writes: BackgroundWrites },
    private readonly options: SignInOptions
  ) {
    this.#limiter = new NodeAuthLimiter({
      maxFailures: options.failuresBeforeLockout,
      maxFailuresPerAddress: options.failuresPerAddress,
      windowMs: options.lockoutWindowMs
    });
  }

  /** Checks a device's `auth` payload; `address` is where it comes from (limits are per address). */
  async authenticate(payload: unknown, address: string | null): Promise<AuthResult> {
    const auth = (payload && typeof payload === 'object' ? payload : {}) as Record<string, unknown>;
    const nodeId = typeof auth.node_id === 'string' && auth.node_id.length <= 64 ? auth.node_id : undefined;
    const secret = typeof auth.node_secret === 'string' && auth.node_secret.length <= 512 ? auth.node_secret : undefined;
    const token = typeof auth.registration_token === 'string' && auth.registration_token.length <= 512 ? auth.registration_token : undefined;
    const now = new Date().toISOString();

    if (nodeId && secret) {
      const source = { address, limiterKey: nodeId };
      return this.#checked(source, async () => {
        const row = await this.deps.directory.get(nodeId);
        const current = row ? credentialMatches(secret, row.secret_hash) : false;
        const previous = row && !current ? credentialMatches(secret, row.previous_secret_hash) : false;
        if (!row || (!current && !previous)) return this.#failure(source, row, 'Invalid node credentials');
        if (row.expires_at && row.expires_at <= now) return { ok: false, message: 'Node has expired' };
        if (current && row.previous_secret_hash) this.deps.writes.track(this.deps.directory.forgetPreviousSecret(row.id));
        return { ok: true, row, method: 'auth_ok', credentialHash: hashCredential(secret), ...source };
      });
    }
    if (token) {
      const source = { address, limiterKey: `token:${token.slice(0, 8)}` };
      return this.#checked(source, async () => {
        const row = await this.deps.directory.findByRegistrationToken(token);
        if (!row) return this.#failure(source, undefined, 'Invalid or already used registration token');
        if (row.registration_expires_at && row.registration_expires_at <= now) return this.#failure(source, row, 'Registration token has expired');
        if (row.expires_at && row.expires_at <= now) return { ok: false, message: 'Node has expired' };
        const newSecret = newNodeSecret();
        const tokenHash = hashCredential(token);
        if (!(await this.deps.directory.completeRegistration(row.id, tokenHash, newSecret))) {
          return this.#failure(source, row, 'Invalid or already used registration token');
        }
        return { ok: true, row, method: 'register_ack', secret: newSecret, tokenHash, credentialHash: hashCredential(newSecret), ...source };
      });
    }
    return { ok: false, message: 'Missing credentials: send node_id and node_secret, or a registration_token' };
  }

  /** The node is online with these credentials: only a sign-in that really succeeded clears the failures (and ends a lockout episode). */
  succeeded(auth: SignedIn): void {
    const episode = this.#limiter.recordSuccess(auth.address, auth.limiterKey);
    if (episode) this.#lockoutCleared(auth.row.id, auth, episode);
  }

  /** The device never got the reply to a successful sign-in: a registration is undone so its token works on the retry. */
  async abandon(auth: SignedIn): Promise<void> {
    if (auth.method !== 'register_ack') return;
    this.deps.logger.info({ node_id: auth.row.id }, 'registration reply undeliverable: the token stays valid');
    await this.deps.directory.undoRegistration(auth.row.id, auth.tokenHash, auth.row.registration_expires_at, auth.secret);
  }

  forget(nodeId: string): void {
    this.#lockoutReports.delete(nodeId);
  }

  /** Runs a credential check the limiter allows, counted as in flight until it settles. */
  async #checked(source: SignInSource, check: () => Promise<AuthResult>): Promise<AuthResult> {
    const gate = this.#limiter.gate(source.address, source.limiterKey);
    if (!gate.allowed) {
      return {
        ok: false,
        message:
          gate.reason === 'address_locked'
            ? 'Too many failed sign-ins from this address; try again later'
            : 'Too many failed attempts; locked out, try again later'
      };
    }
    const settle = this.#limiter.begin(source.address, source.limiterKey);
    try {
      return await check();
    } finally {
      settle();
    }
  }

  /**
   * A failed sign-in. A lockout is reported (log, audit, node event) when an episode starts;
   * the lockouts that follow while the device keeps retrying are only counted.
   */
  #failure(source: SignInSource, row: NodeRow | undefined, message: string): AuthResult {
    const outcome = this.#limiter.recordFailure(source.address, source.limiterKey);
    if (outcome.lockout === 'address') {
      this.deps.logger.warn({ address: source.address }, 'node sign-in failures from one address: further attempts refused for the window');
    } else if (outcome.lockout === 'key' && outcome.episode?.isNew && this.#mayReportLockout(row?.id ?? 'token')) {
      const key = source.limiterKey;
      const failures = this.options.failuresBeforeLockout;
      const details = { key: key.startsWith('token:') ? key : undefined, address: source.address, failures };
      this.deps.logger.warn({ key, address: source.address }, 'node authentication locked out');
      this.deps.writes.track(
        this.deps.audit.record({
          action: 'node.auth_lockout',
          target_type: 'node',
          target_id: row?.id ?? null,
          outcome: 'failure',
          ip: source.address,
          details
        })
      );
      if (row) {
        const text = `Authentication locked out after ${failures} failures from ${source.address ?? 'an unknown address'}`;
        this.deps.events.raise(row.id, 'warning', 'auth', text, { error_code: 'auth_lockout', address: source.address }, 'exempt');
      }
    }
    return { ok: false, message };
  }

  /**
   * Lockout reports (audit row and event) are kept out of the node's event budget — someone
   * else's failures must not use it up — and limited instead to one per node (one for all
   * registration tokens) per lockout window, whatever the addresses.
   */
  #mayReportLockout(subject: string): boolean {
    const now = Date.now();
    const last = this.#lockoutReports.get(subject);
    if (last !== undefined && now - last < this.options.lockoutWindowMs) return false;
    this.#lockoutReports.set(subject, now);
    return true;
  }

  /** A sign-in succeeded after lockouts: one event and audit entry close the episode. */
  #lockoutCleared(nodeId: string, source: SignInSource, episode: LockoutEpisode): void {
    const details = { lockouts: episode.lockouts, since: new Date(episode.startedAtMs).toISOString(), address: source.address };
    this.deps.writes.track(
      this.deps.audit.record({ action: 'node.auth_lockout_cleared', target_type: 'node', target_id: nodeId, outcome: 'success', ip: source.address, details })
    );
    this.deps.events.raise(
      nodeId,
      'info',
      'auth',
      `Signed in after ${episode.lockouts} authentication lockout${episode.lockouts === 1 ? '' : 's'}`,
      details,
      'exempt'
    );
  }
}
