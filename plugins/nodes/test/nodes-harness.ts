import { createManager, type Manager, type ManagerConfig, type ManagerPlugin } from '@bilbycast/core';
import { Joi, defineDriver, type DriverDefinition } from '@bilbycast/driver-sdk';
import appearX from '@bilbycast/driver-appear-x';
import edge from '@bilbycast/driver-edge';
import relay from '@bilbycast/driver-relay';
import { createTestDatabase, testConfig, type TestDatabase, type TestDatabaseKind } from '@bilbycast/tests';
import auth, { type AuthOptions } from '@bilbycast/auth';
import users from '@bilbycast/users';
import { PASSWORD, seedUser } from '../../auth/test/auth-harness';
import type { ServerInjectResponse } from '@hapi/hapi';
import type { DestinationStream } from 'pino';
import WebSocket from 'ws';
import nodes, { type NodesOptions } from '../src';

export { PASSWORD, seedUser };

export interface NodesTestManager {
  manager: Manager;
  database: TestDatabase;
  /** ws://127.0.0.1:<port>/ws/node */
  nodeUrl: string;
  baseUrl: string;
  admin: Session;
  close(): Promise<void>;
}

/**
 * A test driver with short timeouts: `quick` (operator, 300 ms), `admin_only` (admin) and
 * `get_config`, so timeouts and role rules are tested without waiting 15 s.
 */
export const testDriver = defineDriver({
  device_type: 'testdev',
  display_name: 'Test device',
  commands: [
    {
      name: 'quick',
      description: 'Answers fast or times out',
      requires_role: 'operator',
      params: Joi.object({ n: Joi.number().integer().min(0).max(9) }),
      timeout_ms: 300,
      mutates: true
    },
    { name: 'admin_only', description: 'Needs admin', requires_role: 'admin', params: Joi.object({}), timeout_ms: 2000, mutates: true },
    { name: 'get_config', description: 'Config', requires_role: 'operator', params: Joi.object({}), timeout_ms: 300, mutates: false }
  ]
});

export interface NodesManagerSetup {
  options?: NodesOptions;
  plugins?: ManagerPlugin[];
  config?: Partial<ManagerConfig>;
  /** Reuse a database (restart tests); the caller cleans it up. */
  database?: TestDatabase;
  /** Reuse a manager config (same master key) when restarting on the same database. */
  reuseConfig?: ManagerConfig;
  /** Options of the auth plugin (e.g. SSO settings). */
  authOptions?: AuthOptions;
  /** More driver definitions, beside the built-in ones and the test driver. */
  drivers?: DriverDefinition[];
  /** Where the manager's log goes (a LogCapture to assert on it). */
  logDestination?: DestinationStream;
}

/** A listening manager with users, auth and nodes (plus `plugins`), the three built-in drivers and the test driver. */
export async function nodesManager(kind: TestDatabaseKind, setup: NodesManagerSetup = {}): Promise<NodesTestManager> {
  const db = setup.database ?? (await createTestDatabase(kind));
  const manager = await createManager({
    config: setup.reuseConfig ?? testConfig(db, setup.config),
    logDestination: setup.logDestination,
    plugins: [users, { plugin: auth, options: setup.authOptions ?? {} }, { plugin: nodes, options: setup.options ?? {} }, ...(setup.plugins ?? [])],
    drivers: [
      { definition: edge, package: '@bilbycast/driver-edge', version: '0.1.0' },
      { definition: relay, package: '@bilbycast/driver-relay', version: '0.1.0' },
      { definition: appearX, package: '@bilbycast/driver-appear-x', version: '0.1.0' },
      { definition: testDriver, package: 'test-driver', version: '0.0.1' },
      ...(setup.drivers ?? []).map((definition) => ({ definition, package: `test-driver-${definition.device_type}`, version: '0.0.1' }))
    ]
  });
  await manager.start();
  const port = (manager.server.listener.address() as { port: number }).port;
  if (!(await manager.context.db('users').where({ username: 'admin' }).first())) await seedUser(manager, 'admin', 'admin');
  const admin = await Session.login(manager, 'admin');
  const scheme = manager.context.config.tls_cert ? 's' : '';
  return {
    manager,
    database: db,
    nodeUrl: `ws${scheme}://127.0.0.1:${port}/ws/node`,
    baseUrl: `http${scheme}://127.0.0.1:${port}`,
    admin,
    close: async () => {
      await manager.stop();
      if (!setup.database) await db.cleanup();
    }
  };
}

/** A signed-in browser: session and CSRF cookies, sent back on every request. */
export class Session {
  readonly cookies = new Map<string, string>();

  private constructor(private readonly manager: Manager) {}

  static async login(manager: Manager, username: string): Promise<Session> {
    const session = new Session(manager);
    const res = await session.request('POST', '/api/v1/auth/login', { username, password: PASSWORD });
    if (res.statusCode !== 200) throw new Error(`login failed: ${res.payload}`);
    return session;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: string, url: string, payload?: unknown): Promise<ServerInjectResponse> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = this.cookieHeader;
    if (method !== 'GET' && this.cookies.has('csrf_token')) headers['x-csrf-token'] = this.cookies.get('csrf_token')!;
    const res = await this.manager.server.inject({ method, url, payload: payload as object | undefined, headers });
    const raw = res.headers['set-cookie'];
    for (const line of Array.isArray(raw) ? raw : raw ? [raw] : []) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }

  /** Creates a node and returns its id and registration token. */
  async addNode(name: string, deviceType = 'edge', extra: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
    const res = await this.request('POST', '/api/v1/nodes', { name, device_type: deviceType, ...extra });
    if (res.statusCode !== 201) throw new Error(`add node failed: ${res.payload}`);
    const body = res.result as { id: string; registration_token: string };
    return { id: body.id, token: body.registration_token };
  }
}

export type Envelope = { type: string; payload?: any; message?: string; timestamp?: string };

/**
 * A raw device connection: exactly the frames a test sends, and every frame the manager
 * sends queued for `next()`.
 */
export class RawDevice {
  readonly received: Envelope[] = [];
  readonly socket: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  #waiters: { predicate: (m: Envelope) => boolean; resolve: (m: Envelope) => void }[] = [];
  /** Command handler: by default every command is acknowledged as a success. */
  onCommand: ((command: { command_id: string; action: any }, device: RawDevice) => void) | null = null;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.received.push({ type: '<binary>' });
        return;
      }
      const envelope = JSON.parse((data as Buffer).toString()) as Envelope;
      this.received.push(envelope);
      if (envelope.type === 'command' && this.onCommand) this.onCommand(envelope.payload, this);
      const waiter = this.#waiters.find((w) => w.predicate(envelope));
      if (waiter) {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        waiter.resolve(envelope);
      }
    });
    socket.on('ping', () => this.received.push({ type: '<ws-ping>' }));
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<RawDevice> {
    const socket = new WebSocket(url, options);
    const device = new RawDevice(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return device;
  }

  /** Connects and signs in; resolves with the manager's reply. */
  static async signIn(url: string, payload: Record<string, unknown>, options: WebSocket.ClientOptions = {}): Promise<{ device: RawDevice; reply: Envelope }> {
    const device = await RawDevice.connect(url, options);
    device.send({ type: 'auth', payload });
    const reply = await device.next();
    return { device, reply };
  }

  send(envelope: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(envelope));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  /** The next frame not yet consumed that matches (default: any), waiting for it if needed. */
  next(predicate: (m: Envelope) => boolean = () => true, timeoutMs = 10_000): Promise<Envelope> {
    for (let i = 0; i < this.received.length; i++) {
      if (predicate(this.received[i])) {
        const [found] = this.received.splice(i, 1);
        return Promise.resolve(found);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching frame within ${timeoutMs} ms; received ${JSON.stringify(this.received.map((m) => m.type))}`)),
        timeoutMs
      );
      this.#waiters.push({
        predicate,
        resolve: (m) => {
          clearTimeout(timer);
          this.received.splice(this.received.indexOf(m), 1);
          resolve(m);
        }
      });
    });
  }

  ack(commandId: string, extra: Record<string, unknown> = { success: true }): void {
    this.send({ type: 'command_ack', timestamp: deviceTimestamp(), payload: { command_id: commandId, ...extra } });
  }

  close(): void {
    this.socket.close();
  }
}

/** A timestamp as real devices write it: nanoseconds and a +00:00 offset. */
export function deviceTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1482913+00:00');
}

/** Polls until `check` returns a truthy value (state written asynchronously), failing after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() - started > timeoutMs)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
