import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';

export type UpgradeDecision<C> = { accept: true; context: C } | { accept: false; status: number; message: string };

export interface WebSocketRoute<C = unknown> {
  /** Largest message accepted, in bytes; larger ones close the socket with 1009. */
  maxPayload: number;
  /** Decides, before the handshake completes, whether to accept (e.g. checks a cookie). */
  authorize?(request: IncomingMessage): Promise<UpgradeDecision<C>> | UpgradeDecision<C>;
  onConnection(socket: WebSocket, request: IncomingMessage, context: C): void;
}

/** Close code sent to every client when the manager shuts down ("going away"). */
export const CLOSE_GOING_AWAY = 1001;

/**
 * hapi does not handle HTTP upgrades; this routes them by path to `ws` servers, and on
 * shutdown closes every socket with 1001 so clients reconnect elsewhere.
 */
export class WebSocketRouter {
  readonly #routes = new Map<string, { wss: WebSocketServer; route: WebSocketRoute<unknown> }>();
  #closing = false;

  constructor(private readonly logger: Logger) {}

  route<C>(path: string, route: WebSocketRoute<C>): void {
    if (this.#routes.has(path)) throw new Error(`a WebSocket route for ${path} is already registered`);
    const wss = new WebSocketServer({ noServer: true, maxPayload: route.maxPayload });
    this.#routes.set(path, { wss, route });
  }

  attach(listener: HttpServer): void {
    listener.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      // Whatever goes wrong with one upgrade request must not take the process down.
      this.#upgrade(request, socket, head).catch((err: unknown) => {
        this.logger.error({ err }, 'WebSocket upgrade failed');
        reject(socket, 500, 'Internal Server Error');
      });
    });
  }

  async #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let path: string;
    try {
      path = new URL(request.url ?? '/', 'http://manager').pathname;
    } catch {
      return reject(socket, 400, 'Bad Request');
    }
    const entry = this.#routes.get(path);
    if (!entry || this.#closing) {
      return reject(socket, this.#closing ? 503 : 404, this.#closing ? 'Shutting down' : 'Not Found');
    }
    let decision: UpgradeDecision<unknown> = { accept: true, context: undefined };
    try {
      if (entry.route.authorize) decision = await entry.route.authorize(request);
    } catch (err) {
      this.logger.error({ err, path }, 'WebSocket upgrade check failed');
      decision = { accept: false, status: 500, message: 'Internal Server Error' };
    }
    if (!decision.accept) return reject(socket, decision.status, decision.message);
    const { context } = decision;
    entry.wss.handleUpgrade(request, socket, head, (ws) => {
      // Protocol errors (oversize or malformed frames) close the socket; they must never
      // become an unhandled 'error' event that takes the process down.
      ws.on('error', (err) => this.logger.debug({ err, path }, 'WebSocket closed on protocol error'));
      entry.route.onConnection(ws, request, context);
    });
  }

  /** Closes every client with 1001 and waits (bounded) for them to go. */
  async closeAll(timeoutMs: number): Promise<void> {
    this.#closing = true;
    const sockets = [...this.#routes.values()].flatMap(({ wss }) => [...wss.clients]);
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              ws.terminate();
              resolve();
            }, timeoutMs);
            ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            ws.close(CLOSE_GOING_AWAY, 'Server shutting down');
          })
      )
    );
    for (const { wss } of this.#routes.values()) wss.close();
  }
}

/** Answers a refused upgrade and closes the connection (not only our half: Node keeps upgraded sockets half-open). */
function reject(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ statusCode: status, error: message });
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy()
  );
}
