/**
 * A scripted peer playing the manager side of /ws/node for the simulator tests: a real `ws`
 * server on 127.0.0.1 that records every frame and lets a test wait for the ones it expects.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { SimulatedDevice, frameText, type SimulatedDeviceOptions } from '../src';

export interface Frame {
  type: string;
  timestamp?: string;
  payload?: any;
  [key: string]: unknown;
}

export const RFC3339_NANOS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}\+00:00$/;

/** One device connection as the manager sees it. */
export class Peer {
  /** Text frames that parsed as JSON. */
  readonly frames: Frame[] = [];
  /** Every text frame as received. */
  readonly texts: string[] = [];
  readonly binaryFrames: Buffer[] = [];
  /** Resolves with the close code once the socket is closed (1006 = dropped without a Close frame). */
  readonly closed: Promise<number>;
  private readonly used: boolean[] = [];
  private readonly checks = new Set<() => boolean>();

  constructor(
    readonly ws: WebSocket,
    /** Where the device connected from. */
    readonly remoteAddress: string | null = null
  ) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.binaryFrames.push(data as Buffer);
        return;
      }
      const text = frameText(data);
      this.texts.push(text);
      try {
        this.frames.push(JSON.parse(text) as Frame);
      } catch {
        return;
      }
      for (const check of [...this.checks]) check();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  /** The first frame not taken yet that matches, waiting for it up to timeoutMs. */
  take(match: (frame: Frame) => boolean = () => true, timeoutMs = 3000): Promise<Frame> {
    const find = (): Frame | undefined => {
      const index = this.frames.findIndex((frame, i) => !this.used[i] && match(frame));
      if (index < 0) return undefined;
      this.used[index] = true;
      return this.frames[index];
    };
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const frame = find();
        if (!frame) return false;
        clearTimeout(timer);
        this.checks.delete(check);
        resolve(frame);
        return true;
      };
      const timer = setTimeout(() => {
        this.checks.delete(check);
        reject(new Error(`no matching frame within ${timeoutMs} ms; received: ${this.frames.map((f) => f.type).join(', ')}`));
      }, timeoutMs);
      this.checks.add(check);
    });
  }

  takeType(type: string, match: (frame: Frame) => boolean = () => true, timeoutMs?: number): Promise<Frame> {
    return this.take((frame) => frame.type === type && match(frame), timeoutMs);
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Sends a command envelope; returns its command_id. */
  command(action: Record<string, unknown>, commandId: string = randomUUID()): string {
    this.send({ type: 'command', timestamp: new Date().toISOString(), payload: { command_id: commandId, action } });
    return commandId;
  }

  ack(commandId: string, timeoutMs?: number): Promise<Frame> {
    return this.takeType('command_ack', (f) => f.payload?.command_id === commandId, timeoutMs);
  }

  /** Waits for the auth frame, answers `reply` (default auth_ok) and returns the auth frame. */
  async authenticate(reply: object = { type: 'auth_ok', payload: {} }): Promise<Frame> {
    const auth = await this.takeType('auth');
    this.send(reply);
    return auth;
  }
}

export class ScriptedManager {
  private readonly peers: Peer[] = [];
  private readonly waiting: Array<(peer: Peer) => void> = [];

  private constructor(
    readonly server: WebSocketServer,
    readonly url: string
  ) {
    server.on('connection', (ws, request) => {
      const peer = new Peer(ws, request.socket.remoteAddress ?? null);
      const waiter = this.waiting.shift();
      if (waiter) waiter(peer);
      else this.peers.push(peer);
    });
  }

  static async start(): Promise<ScriptedManager> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws/node' });
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return new ScriptedManager(server, `ws://127.0.0.1:${port}/ws/node`);
  }

  /** The next device connection (in arrival order). */
  nextPeer(timeoutMs = 3000): Promise<Peer> {
    const ready = this.peers.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter = (peer: Peer) => {
        clearTimeout(timer);
        resolve(peer);
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error(`no device connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.push(waiter);
    });
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Starts a scripted manager per test and stops every device and the manager afterwards. */
export function useManager() {
  const devices: SimulatedDevice[] = [];
  const context = {
    manager: undefined as unknown as ScriptedManager,
    /** A started device with test-friendly cadences unless overridden. */
    device(options: Omit<SimulatedDeviceOptions, 'url'>): SimulatedDevice {
      const device = new SimulatedDevice({
        url: context.manager.url,
        stats_interval_ms: 30,
        health_interval_ms: 60_000,
        thumbnail_interval_ms: 0,
        reconnect_delay_ms: 20,
        ...options
      });
      devices.push(device);
      device.start();
      return device;
    },
    /** A started device already authenticated on the returned peer. */
    async online(options: Omit<SimulatedDeviceOptions, 'url'>): Promise<{ device: SimulatedDevice; peer: Peer; auth: Frame }> {
      const device = context.device({ credentials: { node_id: 'node-1', node_secret: 'secret-1' }, ...options });
      const peer = await context.manager.nextPeer();
      const auth = await peer.authenticate();
      await device.waitForState('online');
      return { device, peer, auth };
    }
  };
  beforeEach(async () => {
    context.manager = await ScriptedManager.start();
  });
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((device) => device.stop()));
    await context.manager.close();
  });
  return context;
}
