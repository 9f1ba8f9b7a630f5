import crypto from 'node:crypto';
import { nowIso, scopeToNodes, type ManagerCredentials } from '@bilbycast/core';
import type { Knex } from 'knex';
import { hashCredential, newRegistrationToken } from './node-credentials';
import type { NodeRow, NodeStatus } from './node-view';

export interface NodeInput {
  name: string;
  description?: string | null;
  device_type: string;
  expires_at?: string | null;
  metadata?: Record<string, unknown>;
}

export interface NodeFilters {
  device_type?: string;
  status?: NodeStatus;
  /** Case-insensitive substring of the name or description. */
  q?: string;
}

/** The `nodes` table: node records, registration tokens and secret hashes. */
export class NodeDirectory {
  constructor(
    private readonly db: Knex,
    private readonly registrationTtlMs: number
  ) {}

  async create(input: NodeInput): Promise<{ row: NodeRow; registration_token: string }> {
    const now = nowIso();
    const token = newRegistrationToken();
    const row: NodeRow = {
      id: crypto.randomUUID(),
      name: input.name,
      description: input.description ?? null,
      device_type: input.device_type,
      status: 'pending',
      health: null,
      registration_token_hash: hashCredential(token),
      registration_expires_at: this.#tokenExpiry(),
      secret_hash: null,
      previous_secret_hash: null,
      registered_at: null,
      software_version: null,
      protocol_version: null,
      capabilities: null,
      last_health: null,
      last_seen_at: null,
      connected_at: null,
      remote_addr: null,
      expires_at: input.expires_at ?? null,
      metadata: JSON.stringify(input.metadata ?? {}),
      created_at: now,
      updated_at: now
    };
    await this.db('nodes').insert(row);
    return { row, registration_token: token };
  }

  async list(filters: NodeFilters, scope: Pick<ManagerCredentials, 'allowed_node_ids'>): Promise<NodeRow[]> {
    const query = scopeToNodes(this.db<NodeRow>('nodes'), scope, 'id').orderBy([{ column: 'name' }, { column: 'id' }]);
    if (filters.device_type) query.where('device_type', filters.device_type);
    if (filters.status) query.where('status', filters.status);
    if (filters.q) {
      // '!' as the LIKE escape: a backslash would itself need escaping in MariaDB string literals.
      const pattern = `%${filters.q.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
      query.where(
        (q) => void q.whereRaw("LOWER(name) LIKE ? ESCAPE '!'", [pattern]).orWhereRaw("LOWER(COALESCE(description, '')) LIKE ? ESCAPE '!'", [pattern])
      );
    }
    return query;
  }

  async get(id: string): Promise<NodeRow | undefined> {
    return this.db<NodeRow>('nodes').where({ id }).first();
  }

  async update(id: string, patch: Partial<Pick<NodeRow, 'name' | 'description' | 'expires_at' | 'metadata'>>): Promise<void> {
    await this.db('nodes')
      .where({ id })
      .update({ ...patch, updated_at: nowIso() });
  }

  async remove(id: string): Promise<boolean> {
    return (await this.db('nodes').where({ id }).delete()) > 0;
  }

  /** A new single-use token; the node's secrets stop working until it registers with it. */
  async issueToken(id: string): Promise<{ registration_token: string; registration_expires_at: string }> {
    const token = newRegistrationToken();
    const registration_expires_at = this.#tokenExpiry();
    await this.db('nodes')
      .where({ id })
      .update({
        registration_token_hash: hashCredential(token),
        registration_expires_at,
        secret_hash: null,
        previous_secret_hash: null,
        status: 'pending',
        connected_at: null,
        updated_at: nowIso()
      });
    return { registration_token: token, registration_expires_at };
  }

  async findByRegistrationToken(token: string): Promise<NodeRow | undefined> {
    return this.db<NodeRow>('nodes')
      .where({ registration_token_hash: hashCredential(token) })
      .first();
  }

  /**
   * Consumes the token and stores the new secret's hash. Conditional on the token still being
   * there, so two sockets racing with one token cannot both register.
   */
  async completeRegistration(id: string, tokenHash: string, secret: string): Promise<boolean> {
    const changed = await this.db('nodes')
      .where({ id, registration_token_hash: tokenHash })
      .update({
        registration_token_hash: null,
        registration_expires_at: null,
        secret_hash: hashCredential(secret),
        previous_secret_hash: null,
        registered_at: nowIso(),
        updated_at: nowIso()
      });
    return changed > 0;
  }

  /**
   * A registration whose reply never reached the device (its socket closed first): the token
   * is restored, so the device's retry with the same token still works.
   */
  async undoRegistration(id: string, tokenHash: string, registrationExpiresAt: string | null, secret: string): Promise<void> {
    await this.db('nodes')
      .where({ id, secret_hash: hashCredential(secret) })
      .update({ registration_token_hash: tokenHash, registration_expires_at: registrationExpiresAt, secret_hash: null, updated_at: nowIso() });
  }

  /**
   * Before rotate_secret is sent: the new secret's hash becomes current, the current one the
   * previous (both stay valid: the device may save the new one even if its ack is lost). False
   * while an earlier rotation is unconfirmed — rotating again could invalidate the secret the
   * device still holds in memory.
   */
  async beginSecretRotation(id: string, newSecret: string): Promise<boolean> {
    const changed = await this.db('nodes')
      .where({ id })
      .whereNull('previous_secret_hash')
      .update({ previous_secret_hash: this.db.ref('secret_hash'), secret_hash: hashCredential(newSecret), updated_at: nowIso() });
    return changed > 0;
  }

  /** The device refused rotate_secret: its current secret stays the only one. */
  async revertSecretRotation(id: string, newSecret: string): Promise<void> {
    await this.db('nodes')
      .where({ id, secret_hash: hashCredential(newSecret) })
      .update({ secret_hash: this.db.ref('previous_secret_hash'), previous_secret_hash: null, updated_at: nowIso() });
  }

  /** The node signed in with its current secret: the previous one is no longer needed. */
  async forgetPreviousSecret(id: string): Promise<void> {
    await this.db('nodes').where({ id }).whereNotNull('previous_secret_hash').update({ previous_secret_hash: null });
  }

  /** Online, if the credential the node signed in with is still one of its own (false: deleted or revoked meanwhile). */
  async markOnline(
    id: string,
    credentialHash: string,
    at: string,
    session: { software_version: string | null; protocol_version: number; remote_addr: string | null }
  ): Promise<boolean> {
    const changed = await this.db('nodes')
      .where({ id })
      .where((q) => void q.where('secret_hash', credentialHash).orWhere('previous_secret_hash', credentialHash))
      .update({ status: 'online', connected_at: at, last_seen_at: at, ...session, updated_at: at });
    return changed > 0;
  }

  /**
   * Offline, keeping the last health payload the node sent (JSON) for when it is not connected —
   * only if the row still records the session that connected at `connectedAt`: a quick
   * reconnect's markOnline may commit first, and the newer session must stay online.
   */
  async markOffline(id: string, connectedAt: string, lastSeenAt: string | null, lastHealth: string | null): Promise<void> {
    const patch: Record<string, unknown> = { status: 'offline', connected_at: null, updated_at: nowIso() };
    if (lastSeenAt) patch.last_seen_at = lastSeenAt;
    if (lastHealth) patch.last_health = lastHealth;
    // A node whose token was regenerated meanwhile stays pending (its connected_at is cleared too).
    await this.db('nodes').where({ id, connected_at: connectedAt }).whereNot('status', 'pending').update(patch);
  }

  /** At start-up: nobody is connected yet, whatever the table says after a crash. */
  async markAllOffline(): Promise<number> {
    return this.db('nodes').where({ status: 'online' }).update({ status: 'offline', connected_at: null });
  }

  /** A changed software version and/or capability list (JSON) from a health message. */
  async recordHealth(id: string, changed: { software_version?: string; capabilities?: string }): Promise<void> {
    await this.db('nodes').where({ id }).update(changed);
  }

  async setHealth(id: string, health: string): Promise<void> {
    await this.db('nodes').where({ id }).update({ health });
  }

  /**
   * Persists the hub's batched last-seen times to the second: nodes seen within the same
   * second share one UPDATE (busy nodes all talk every second, so a flush is a few statements).
   */
  async touch(lastSeen: Map<string, number>): Promise<void> {
    const bySecond = new Map<number, string[]>();
    for (const [id, at] of lastSeen) {
      const second = Math.floor(at / 1000) * 1000;
      const ids = bySecond.get(second);
      if (ids) ids.push(id);
      else bySecond.set(second, [id]);
    }
    for (const [second, ids] of bySecond) {
      const at = new Date(second).toISOString();
      for (let i = 0; i < ids.length; i += 500)
        await this.db('nodes')
          .whereIn('id', ids.slice(i, i + 500))
          .update({ last_seen_at: at });
    }
  }

  #tokenExpiry(): string {
    return new Date(Date.now() + this.registrationTtlMs).toISOString();
  }
}
