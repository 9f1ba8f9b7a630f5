/** Why a command did not get a device answer; the routes map these to 502/504/409. */
export class CommandDeliveryError extends Error {
  constructor(
    readonly code: 'node_offline' | 'command_timeout' | 'rotation_unavailable' | 'rotation_pending',
    message: string
  ) {
    super(message);
    this.name = 'CommandDeliveryError';
  }
}

/** A device's answer to a command (`command_ack`), as the API reports it. */
export interface CommandOutcome {
  command_id: string;
  success: boolean;
  data?: unknown;
  error?: string;
  error_code?: string;
  details?: Record<string, unknown>;
}

/**
 * A command the manager will not send as asked: 400 for parameters it cannot use (a secret
 * placeholder with nothing to restore), 409 when the driver refuses it in the node's
 * current state. Carries the `error_code` the API answers with.
 */
export class CommandRefusedError extends Error {
  constructor(
    readonly status: 400 | 409,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'CommandRefusedError';
  }
}
