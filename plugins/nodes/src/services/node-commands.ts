import { findRedacted, restoreSecrets, type CommandDefinition, type CommandRefusal } from '@bilbycast/driver-sdk';
import type { Logger } from 'pino';
import { CommandDeliveryError, CommandRefusedError, type CommandOutcome } from './command-errors';
import { newNodeSecret } from './node-credentials';
import type { NodeDirectory } from './node-directory';
import type { NodeSession } from './node-session';
import type { NodeRow } from './node-view';
import type { SessionRegistry } from './session-registry';

/**
 * Commands to connected nodes, by node id (what the routes use): checked with the node's
 * driver, secret placeholders restored, sent on the session's command channel; the node's
 * config; secret rotation. A node that is not connected is `node_offline`.
 */
export class NodeCommands {
  constructor(private readonly deps: { sessions: SessionRegistry; directory: NodeDirectory; logger: Logger }) {}

  /**
   * The parameters to send for a validated command, or a refusal: the driver may refuse it in
   * the node's current state (409), secrets redacted from a config shown earlier are put back
   * into the command's `config_param`, and a placeholder that cannot be restored — or one
   * anywhere else — is refused (400) rather than sent to the device as if it were the secret.
   */
  prepare(row: NodeRow, command: CommandDefinition, params: Record<string, unknown>): Record<string, unknown> {
    const session = this.#live(row.id);
    this.#checkWithDriver(session, row, command.name);
    let prepared = params;
    if (command.config_param !== undefined && params[command.config_param] !== undefined) {
      const { config, unresolved } = restoreSecrets(params[command.config_param], session.channel.secrets);
      if (unresolved.length > 0) {
        throw new CommandRefusedError(
          400,
          'secret_placeholder_unresolved',
          `${command.config_param} holds ${unresolved.length === 1 ? 'a redacted secret' : 'redacted secrets'} the manager cannot restore (${unresolved.join(', ')}): ` +
            'give the real value, or re-read the configuration and edit that',
          { paths: unresolved }
        );
      }
      prepared = { ...params, [command.config_param]: config };
    }
    const placeholders = findRedacted(command.config_param === undefined ? prepared : { ...prepared, [command.config_param]: null });
    if (placeholders.length > 0) {
      throw new CommandRefusedError(
        400,
        'secret_placeholder_unresolved',
        `A redacted secret placeholder is not a value to send (${placeholders.join(', ')}): give the real value`,
        {
          paths: placeholders
        }
      );
    }
    return prepared;
  }

  /** Sends a command and waits for its `command_ack` (not for get_config: see requestConfig). */
  send(nodeId: string, action: { type: string } & Record<string, unknown>, timeoutMs: number, mutates: boolean): Promise<CommandOutcome> {
    return this.#live(nodeId).channel.command(action, timeoutMs, mutates);
  }

  /** The node's config: cached, or asked for live (answered by the next config_response). */
  async requestConfig(nodeId: string, timeoutMs: number, refresh: boolean): Promise<{ config: unknown; fetched_at: string; cached: boolean }> {
    const { channel } = this.#live(nodeId);
    const cached = channel.config;
    if (cached && !refresh) return { config: cached.value, fetched_at: cached.at, cached: true };
    const config = await channel.fetchConfig(timeoutMs);
    return { config, fetched_at: channel.config?.at ?? new Date().toISOString(), cached: false };
  }

  /**
   * Rotates the node secret. The new secret's hash is stored before it is sent, with the
   * current one kept as the previous: both stay valid until the node signs in with the new one
   * (the device may save it even if its ack is lost, or reconnect with the old one after a
   * blip, PROTOCOL.md §10.2). Only a device's explicit refusal undoes the rotation.
   */
  async rotateSecret(row: NodeRow, timeoutMs: number): Promise<CommandOutcome> {
    const nodeId = row.id;
    const session = this.#live(nodeId);
    if (session.authMethod !== 'auth_ok') {
      throw new CommandDeliveryError('rotation_unavailable', 'The node registered on this connection; rotate its secret after it reconnects');
    }
    this.#checkWithDriver(session, row, 'rotate_secret');
    const secret = newNodeSecret();
    if (!(await this.deps.directory.beginSecretRotation(nodeId, secret))) {
      throw new CommandDeliveryError('rotation_pending', 'The node has not yet signed in with the secret of the previous rotation; rotate again after it has');
    }
    if (!this.deps.sessions.owns(session)) {
      // Disconnected or superseded while the hash was stored: nothing was sent.
      await this.deps.directory.revertSecretRotation(nodeId, secret);
      throw new CommandDeliveryError('node_offline', 'The node disconnected before the rotation was sent');
    }
    // Once sent, a timeout or disconnect leaves both secrets valid: the device may hold either.
    const outcome = await session.channel.command({ type: 'rotate_secret', new_secret: secret }, timeoutMs, false);
    if (!outcome.success) await this.deps.directory.revertSecretRotation(nodeId, secret);
    // The device's ack never carries the secret back, but make sure nothing does.
    delete outcome.data;
    return outcome;
  }

  #live(nodeId: string): NodeSession {
    const session = this.deps.sessions.get(nodeId);
    if (!session) throw new CommandDeliveryError('node_offline', 'The node is not connected');
    return session;
  }

  /** Asks the node's driver whether the command may be sent now (a throwing hook refuses: the safe side). */
  #checkWithDriver(session: NodeSession, row: NodeRow, command: string): void {
    const { driver } = session;
    if (!driver?.refuseCommand) return;
    const { health, healthAtMs, stats, statsAtMs } = session.telemetry;
    let refusal: CommandRefusal | null;
    try {
      refusal = driver.refuseCommand({
        command,
        registered_at: row.registered_at,
        connected_at: session.connectedAt,
        secret_rotation_pending: row.previous_secret_hash !== null,
        now_ms: Date.now(),
        health,
        health_at_ms: healthAtMs || null,
        stats,
        stats_at_ms: statsAtMs || null
      });
    } catch (err) {
      this.deps.logger.warn({ err, node_id: row.id, command }, 'driver command check failed');
      throw new CommandRefusedError(409, 'command_check_failed', `The ${driver.display_name} driver could not check ${command}; it was not sent`);
    }
    if (refusal) {
      const code = typeof refusal.error_code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(refusal.error_code) ? refusal.error_code : 'command_refused';
      throw new CommandRefusedError(409, code, typeof refusal.message === 'string' ? refusal.message.slice(0, 2000) : `${command} cannot be sent now`);
    }
  }
}
