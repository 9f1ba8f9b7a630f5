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
