import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { frameText } from './frame-text';
import type { NodeHub } from '../services/node-hub';
import type { NodeSession } from '../services/node-session';
import type { UnauthenticatedSockets } from './unauthenticated-sockets';

export interface NodeSocketOptions {
  authTimeoutMs: number;
  maxMessageBytes: number;
  /** Bytes a socket may send before it has signed in (its auth frame and anything behind it); more closes it. */
  signInMaxBytes: number;
  unauthenticated: UnauthenticatedSockets;
  /** Told of each socket refused because the sign-in caps are full (for a throttled log line). */
  onRefused(remoteAddr: string | null): void;
}

/** Messages a device may send while its `auth` is being checked; more are dropped. */
const MAX_EARLY_MESSAGES = 64;
/** How long a refused socket may take to close before it is dropped. */
const CLOSE_GRACE_MS = 2000;
const MIB = 1024 * 1024;
/**
 * Largest frame of each kind a device sends unasked (real ones are far smaller: an edge's
 * stats with dozens of flows is tens of KB). Larger frames are counted as oversize and
 * ignored. Only answers to the manager's own requests (`command_ack`, `config_response`:
 * configurations, media-library exports) may be as large as `maxMessageBytes`.
 */
const MAX_BYTES_BY_TYPE: Record<string, number> = { stats: 2 * MIB, health: MIB, event: 64 * 1024, thumbnail: MIB + 64 * 1024 };
const MAX_UNSOLICITED_BYTES = 2 * MIB;
const ANSWERS = new Set(['command_ack', 'config_response']);

/**
 * One device connection on `/ws/node` (PROTOCOL.md §3–4): the first text frame must be
 * `auth` within the timeout; the manager sends nothing before its single reply
 * (`register_ack`, `auth_ok` or `auth_error` + close). After that, messages are dispatched by
 * `type`; malformed, binary, oversize and unknown ones are counted and ignored — never a close.
 */
export function handleNodeSocket(
  socket: WebSocket,
  request: IncomingMessage,
  clientAddress: string | null,
  hub: NodeHub,
  logger: Logger,
  options: NodeSocketOptions
): void {
  const remoteAddr = remoteAddress(request);
  let phase: 'awaiting_auth' | 'authenticating' | 'live' | 'closed' = 'awaiting_auth';
  let session: NodeSession | undefined;
  const early: { data: RawData; isBinary: boolean }[] = [];
  let earlyBytes = 0;

  // Until it has signed in, the peer is anonymous: what it sends is counted on the raw TCP
  // stream — ahead of the WebSocket parser, so an oversize first frame closes the socket
  // before it is buffered whole or parsed.
  let rawBytes = 0;
  const onRawData = (chunk: Buffer) => {
    rawBytes += chunk.length;
    if (rawBytes > options.signInMaxBytes && phase !== 'live') {
      logger.info({ remote_addr: remoteAddr, bytes: rawBytes }, 'node socket sent too much before signing in: dropped');
      drop();
    }
  };
  request.socket.prependListener('data', onRawData);
  let closed = false;
  let signInPending = false;
  const slot = options.unauthenticated.acquire(clientAddress, () => {
    logger.debug({ remote_addr: remoteAddr }, 'idle node socket evicted to make room for a new one');
    drop();
  });
  let closeTimer: NodeJS.Timeout | undefined;
  const authTimer = setTimeout(() => refuse('Authentication timeout: no auth message within the time limit'), options.authTimeoutMs);
  if (!slot) {
    // Devices ignore close codes and retry in a few seconds (PROTOCOL.md §2.4).
    options.onRefused(remoteAddr);
    closeGently(1013, 'Too many connections waiting to sign in; try again later');
    return;
  }
  /** Ends the anonymous phase: the slot and the byte counter are only for sockets not signed in. */
  function endAnonymousPhase(): void {
    slot?.release();
    request.socket.off('data', onRawData);
  }

  function drop(): void {
    phase = 'closed';
    clearTimeout(authTimer);
    socket.terminate();
  }

  /** A sign-in holds its slot until it has settled, even if the socket closes first: checks in flight are bounded too. */
  function signInSettled(): void {
    signInPending = false;
    if (closed) endAnonymousPhase();
  }

  /** A Close frame, then the connection is dropped if the peer does not finish the close promptly. */
  function closeGently(code: number, reason: string): void {
    phase = 'closed';
    clearTimeout(authTimer);
    socket.close(code, reason);
    closeTimer = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    socket.once('close', () => clearTimeout(closeTimer));
  }

  function refuse(message: string): void {
    if (phase === 'closed') return;
    // Edge and relay read the top-level message; the gateway SDK reads payload.error.
    send({ type: 'auth_error', timestamp: new Date().toISOString(), message, payload: { error: message, message } });
    closeGently(1008, 'Authentication failed');
    logger.info({ remote_addr: remoteAddr, reason: message }, 'node authentication refused');
  }

  function send(envelope: object): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(envelope));
  }

  async function authenticate(payload: unknown): Promise<void> {
    phase = 'authenticating';
    // The time limit is for the first frame; a sign-in under way is answered however long it takes.
    clearTimeout(authTimer);
    const result = await hub.signIn.authenticate(payload, clientAddress);
    if (!result.ok) return refuse(result.message);
    const auth = payload as Record<string, unknown>;
    const protocolVersion = Number.isInteger(auth.protocol_version) ? (auth.protocol_version as number) : 1;
    const softwareVersion = typeof auth.software_version === 'string' ? auth.software_version.slice(0, 256) : null;
    const deviceType = typeof auth.device_type === 'string' ? auth.device_type.slice(0, 64) : null;
    // The socket may close while the database is consulted: the device never hears the reply.
    const gone = () => (phase as string) === 'closed' || socket.readyState !== socket.OPEN;
    if (gone()) return hub.signIn.abandon(result);
    const opened = await hub.sessions.open(result, socket, { remoteAddr, softwareVersion, protocolVersion, deviceType });
    if (!opened) return refuse('Invalid node credentials');
    session = opened;
    if (gone()) {
      hub.sessions.closed(session, 'connection lost during sign-in');
      return hub.signIn.abandon(result);
    }
    const timestamp = new Date().toISOString();
    if (result.method === 'register_ack') {
      send({ type: 'register_ack', timestamp, payload: { node_id: result.row.id, node_secret: result.secret } });
    } else {
      send({ type: 'auth_ok', timestamp, payload: {} });
    }
    phase = 'live';
    endAnonymousPhase();
    hub.sessions.ready(session);
    logger.info({ node_id: result.row.id, method: result.method, remote_addr: remoteAddr }, 'node connected');
    for (const message of early.splice(0)) safeDispatch(session, message.data, message.isBinary);
  }

  /** A handler bug must cost one message, never the connection or the process. */
  function safeDispatch(live: NodeSession, data: RawData, isBinary: boolean): void {
    // A session the hub let go (node deleted or re-tokened, superseded) may still deliver
    // frames until its close completes: they are not the node's any more.
    if (!hub.sessions.owns(live)) return;
    try {
      dispatch(live, data, isBinary);
    } catch (err) {
      logger.warn({ err, node_id: live.nodeId }, 'could not process a node message');
    }
  }

  function dispatch(live: NodeSession, data: RawData, isBinary: boolean): void {
    live.counters.messages++;
    hub.liveness.seen(live);
    const size = byteLength(data);
    const admission = hub.admitFrame(live, size, () => !isBinary && mayBeAnswer(data));
    if (admission === 'drop') return;
    if (isBinary) {
      live.counters.binary++;
      return;
    }
    // A large frame is read only when the manager asked the device for something.
    if (size > options.maxMessageBytes || (size > MAX_UNSOLICITED_BYTES && !live.channel.awaitingAnswer)) {
      live.counters.oversize++;
      return;
    }
    const envelope = parseEnvelope(data);
    if (!envelope) {
      live.counters.malformed++;
      return;
    }
    if (admission === 'answers_only' && !ANSWERS.has(envelope.type)) return;
    if (size > (MAX_BYTES_BY_TYPE[envelope.type] ?? options.maxMessageBytes)) {
      live.counters.oversize++;
      return;
    }
    switch (envelope.type) {
      case 'stats':
        return hub.telemetry.onStats(live, envelope.payload);
      case 'health':
        return hub.telemetry.onHealth(live, envelope.payload);
      case 'event':
        return hub.telemetry.onEvent(live, envelope.payload, size);
      case 'thumbnail':
        return hub.telemetry.onThumbnail(live, envelope.payload);
      case 'config_response':
        return live.channel.onConfigResponse(envelope.payload);
      case 'command_ack':
        return live.channel.onCommandAck(envelope.payload);
      case 'pong':
        return;
      default:
        live.counters.unknown_types++;
    }
  }

  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (phase === 'live' && session) return safeDispatch(session, data, isBinary);
    if (phase === 'authenticating') {
      // Bounded by count and bytes (the raw byte limit above closes the socket first): the sender is not yet authenticated.
      const size = byteLength(data);
      if (early.length < MAX_EARLY_MESSAGES && earlyBytes + size <= options.signInMaxBytes) {
        early.push({ data, isBinary });
        earlyBytes += size;
      }
      return;
    }
    if (phase !== 'awaiting_auth') return;
    const envelope = isBinary ? undefined : parseEnvelope(data);
    if (!envelope || envelope.type !== 'auth') return refuse('The first message must be a JSON auth message');
    slot?.authenticating();
    signInPending = true;
    authenticate(envelope.payload)
      .catch((err: unknown) => {
        logger.error({ err, remote_addr: remoteAddr }, 'node authentication failed unexpectedly');
        // A session opened before the failure must not linger in the hub.
        if (session && phase !== 'live') hub.sessions.closed(session, 'sign-in failed');
        if (phase !== 'live') refuse('Authentication is temporarily unavailable');
      })
      .finally(signInSettled);
  });

  // The answer to the hub's keep-alive ping (only sent once the node is live).
  socket.on('pong', () => {
    if (phase === 'live' && session) hub.liveness.seen(session);
  });

  socket.on('close', () => {
    clearTimeout(authTimer);
    closed = true;
    if (!signInPending) endAnonymousPhase();
    const wasLive = phase === 'live';
    phase = 'closed';
    if (session && wasLive) hub.sessions.closed(session, 'connection closed');
  });
}

function parseEnvelope(data: RawData): { type: string; payload: unknown } | undefined {
  try {
    const text = frameText(data);
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const { type, payload } = value as { type?: unknown; payload?: unknown };
    return typeof type === 'string' ? { type, payload } : undefined;
  } catch {
    return undefined;
  }
}

/** Cheap look (no parsing) for whether a frame could be a `command_ack` or `config_response`. */
function mayBeAnswer(data: RawData): boolean {
  const chunks = Array.isArray(data) ? data : [Buffer.isBuffer(data) ? data : Buffer.from(data)];
  return chunks.some((chunk) => chunk.includes('"command_ack"') || chunk.includes('"config_response"'));
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

function remoteAddress(request: IncomingMessage): string | null {
  const address = request.socket.remoteAddress;
  if (!address) return null;
  const port = request.socket.remotePort;
  const host = address.startsWith('::ffff:') ? address.slice(7) : address;
  return port ? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`) : host;
}
