import crypto from 'node:crypto';
import { NO_SECRETS, redactSecrets, type ConfigSecrets } from '@bilbycast/driver-sdk';
import type { WebSocket } from 'ws';
import { CommandDeliveryError, type CommandOutcome } from './command-errors';
import type { ProtocolCounters } from './node-session';

/** What answers a request: a command's own `command_ack` (by `command_id`), or — for `get_config` — the next `config_response`. */
type Answer = 'command_ack' | 'config_response';

interface PendingRequest {
  answer: Answer;
  /** A successful answer means the device changed: the cached config is stale. */
  mutates: boolean;
  /**
   * A mutating command: its number among the mutating commands sent. A get_config: how many had
   * been sent before it (its answer may predate any sent later).
   */
  mutationStamp: number;
  /** A get_config already acked (a gateway acks it before its config_response): its read over budget was given back. */
  acked?: boolean;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One session's command channel (PROTOCOL.md §8): `command` frames out, answers in. Every
 * request waits in one map, by its `command_id`, for the answer it expects — a command for its
 * `command_ack` (in any order), `get_config` for the next `config_response` (edges send no
 * ack to it; a gateway's ack is ignored) — and ends with that answer, its timeout or the
 * session. Nothing goes out before the auth reply (PROTOCOL.md §4.3): until `open()`, frames
 * wait. The latest config is kept here, redacted, with the secrets taken out of it.
 */
export class CommandChannel {
  readonly #waiting = new Map<string, PendingRequest>();
  #outbox: string[] | null = [];
  /** Frames read while over the byte budget, as possible answers (at most one per request waiting). */
  #answersReadOverBudget = 0;
  #config: { value: unknown; at: string } | undefined;
  #secrets: ConfigSecrets = NO_SECRETS;
  /** Mutating commands sent so far, and the newest of them (by that count) the device confirmed. */
  #mutationsSent = 0;
  #newestMutationApplied = 0;

  constructor(
    private readonly socket: Pick<WebSocket, 'send'>,
    /** The config paths redacted from what is cached and shown (the driver's `config_secrets`). */
    private readonly configSecrets: readonly string[],
    private readonly counters: ProtocolCounters
  ) {}

  /** The auth reply has gone out: frames held until now are sent, later ones at once. */
  open(): void {
    const held = this.#outbox ?? [];
    this.#outbox = null;
    for (const frame of held) this.socket.send(frame);
  }

  get isOpen(): boolean {
    return this.#outbox === null;
  }

  /** Sends a command; resolves with the device's `command_ack`. */
  command(action: { type: string } & Record<string, unknown>, timeoutMs: number, mutates: boolean): Promise<CommandOutcome> {
    return this.#request(action, 'command_ack', mutates, timeoutMs, `The node did not answer ${action.type} within ${timeoutMs} ms`) as Promise<CommandOutcome>;
  }

  /** Sends `get_config`; resolves with the next `config_response`, redacted (and cached). */
  fetchConfig(timeoutMs: number): Promise<unknown> {
    return this.#request({ type: 'get_config' }, 'config_response', false, timeoutMs, `The node did not send its config within ${timeoutMs} ms`);
  }

  /** The latest config_response with the driver's declared secrets redacted, until a mutating command succeeds. */
  get config(): { value: unknown; at: string } | undefined {
    return this.#config;
  }

  /**
   * The secrets taken out of the latest config_response, kept after the cached config goes
   * stale, so that a config edited from what was shown gets them back (never shown or logged).
   */
  get secrets(): ConfigSecrets {
    return this.#secrets;
  }

  get awaitingAnswer(): boolean {
    return this.#waiting.size > 0;
  }

  onCommandAck(payload: unknown): void {
    const ack = (payload ?? {}) as Record<string, unknown>;
    const id = typeof ack.command_id === 'string' ? ack.command_id : undefined;
    const request = id === undefined ? undefined : this.#waiting.get(id);
    if (!request) {
      // Late (after its timeout) or unknown.
      this.counters.late_acks++;
      return;
    }
    if (request.answer !== 'command_ack') {
      // A gateway's ack to get_config is expected and ignored, but it was a real answer: the read
      // it may have taken over budget is given back (once), so the config_response behind it is read.
      if (!request.acked && this.#answersReadOverBudget > 0) this.#answersReadOverBudget--;
      request.acked = true;
      return;
    }
    const outcome: CommandOutcome = { command_id: id!, success: ack.success === true };
    if (ack.data !== undefined && ack.data !== null) outcome.data = ack.data;
    if (!outcome.success) {
      outcome.error = typeof ack.error === 'string' && ack.error !== '' ? ack.error : 'The device reported a failure';
      if (typeof ack.error_code === 'string') outcome.error_code = ack.error_code;
      if (ack.details && typeof ack.details === 'object') outcome.details = ack.details as Record<string, unknown>;
    }
    // The device changed something: the cached config is stale, and so are the secrets behind
    // its placeholders (an edit of the old config must be made on a fresh read).
    if (outcome.success && request.mutates) {
      this.#config = undefined;
      this.#secrets = NO_SECRETS;
      this.#newestMutationApplied = Math.max(this.#newestMutationApplied, request.mutationStamp);
    }
    this.#answer(id!, request, outcome);
  }

  /** A `config_response`: only as the answer to a `get_config` (an unasked one is counted as late and ignored). */
  onConfigResponse(payload: unknown): void {
    const entry = [...this.#waiting].find(([, request]) => request.answer === 'config_response');
    if (!entry) {
      this.counters.late_acks++;
      return;
    }
    // No device wraps its config, but the gateway SDK documents `{config: …}` as possible.
    const config =
      payload && typeof payload === 'object' && !Array.isArray(payload) && Object.keys(payload).length === 1 && 'config' in payload ? payload.config : payload;
    // Secrets the driver declares never leave the session: only the redacted copy is cached or shown.
    const { config: shown, secrets } = redactSecrets(config, this.configSecrets);
    // A command sent after this get_config changed the device already: the answer may predate it,
    // so it is shown to whoever asked but not kept as current (nor are its secrets).
    if (this.#newestMutationApplied <= entry[1].mutationStamp) {
      this.#config = { value: shown, at: new Date().toISOString() };
      this.#secrets = secrets;
    }
    this.#answer(entry[0], entry[1], shown);
  }

  /** Every request waiting fails with `node_offline` (the session closed or was superseded). */
  failAll(message: string): void {
    for (const [id, request] of this.#waiting) {
      clearTimeout(request.timer);
      this.#waiting.delete(id);
      request.reject(new CommandDeliveryError('node_offline', message));
    }
  }

  /** A frame within the node's byte budget: reads over budget start afresh. */
  withinBudget(): void {
    this.#answersReadOverBudget = 0;
  }

  /**
   * Over the byte budget, a frame is read only if it may be an answer, and frames read that
   * answered nothing are limited to the requests waiting: a device cannot get frames parsed by
   * pretending to answer (a real answer gives its read back).
   */
  readOverBudget(mayBeAnswer: () => boolean): boolean {
    // The look at the frame's bytes is only taken over budget: it stays off the per-frame path.
    if (this.#answersReadOverBudget >= this.#waiting.size || !mayBeAnswer()) return false;
    this.#answersReadOverBudget++;
    return true;
  }

  #request(action: Record<string, unknown>, answer: Answer, mutates: boolean, timeoutMs: number, timeoutMessage: string): Promise<unknown> {
    const commandId = crypto.randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(commandId);
        reject(new CommandDeliveryError('command_timeout', timeoutMessage));
      }, timeoutMs);
      if (mutates) this.#mutationsSent++;
      this.#waiting.set(commandId, { answer, mutates, mutationStamp: this.#mutationsSent, resolve, reject, timer });
      const frame = JSON.stringify({ type: 'command', timestamp: new Date().toISOString(), payload: { command_id: commandId, action } });
      if (this.#outbox) this.#outbox.push(frame);
      else this.socket.send(frame);
    });
  }

  #answer(commandId: string, request: PendingRequest, value: unknown): void {
    this.#waiting.delete(commandId);
    clearTimeout(request.timer);
    // A frame read over budget that answered a request does not count against the reads allowed.
    if (this.#answersReadOverBudget > 0) this.#answersReadOverBudget--;
    request.resolve(value);
  }
}
