import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, testConfig, type TestDatabase } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import WebSocket from 'ws';
import { CLOSE_GOING_AWAY, createManager, type Manager } from '../src';

/** A plugin with a slow route (released by the test) and a WebSocket echo route. */
function testPlugin(release: Promise<void>, started: () => void): Plugin<unknown> {
  return {
    name: 'lifecycle-test',
    register(server) {
      server.route({
        method: 'GET',
        path: '/slow',
        options: { auth: false, plugins: { bilbycast: { access: 'public' } } },
        handler: async () => {
          started();
          await release;
          return { finished: true };
        }
      });
      server.manager.websockets.route('/ws/echo', {
        maxPayload: 1024,
        onConnection(socket) {
          socket.on('message', (data: Buffer) => socket.send(data.toString()));
        }
      });
    }
  };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('start and graceful stop', () => {
  let database: TestDatabase;
  let manager: Manager;
  let release!: () => void;
  let requestStarted!: Promise<void>;

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    const released = new Promise<void>((resolve) => (release = resolve));
    let markStarted!: () => void;
    requestStarted = new Promise<void>((resolve) => (markStarted = resolve));
    manager = await createManager({ config: testConfig(database), plugins: [testPlugin(released, markStarted)] });
    await manager.start();
  });
  afterEach(async () => {
    release();
    await manager.stop();
    await database.cleanup();
  });

  const baseUrl = () => `http://127.0.0.1:${(manager.server.listener.address() as AddressInfo).port}`;

  it('listens on the configured host and serves /health', async () => {
    const res = await get(`${baseUrl()}/health`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'ok', db: 'ok' });
  });

  it('finishes an in-flight request, closes WebSockets with 1001, refuses new work and closes the database', async () => {
    const socket = new WebSocket(`${baseUrl().replace('http', 'ws')}/ws/echo`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

    const url = baseUrl();
    const inFlight = get(`${url}/slow`);
    await requestStarted;

    const stopping = manager.stop();
    expect(await closed).toBe(CLOSE_GOING_AWAY);
    // New connections are refused while the in-flight request is still running.
    await expect(get(`${url}/health`)).rejects.toThrow();
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ finished: true });
    await stopping;

    await expect(manager.context.db.raw('select 1')).rejects.toThrow();
    // stop() is idempotent.
    await expect(manager.stop()).resolves.toBeUndefined();
  });

  it('answers an unknown WebSocket path with 404 before the handshake', async () => {
    const socket = new WebSocket(`${baseUrl().replace('http', 'ws')}/ws/unknown`);
    const status = await new Promise<number>((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  /** Sends raw bytes over TCP; resolves with what came back once the server closed the connection. */
  function rawExchange(request: string): Promise<string> {
    const { port } = manager.server.listener.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      // The client never ends its side: only the server closing the connection ends this.
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
  }

  it('answers a malformed or refused upgrade and closes the connection; the server carries on', async () => {
    const upgrade = (target: string) =>
      `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    // An unparsable target once crashed the process (an unhandled rejection).
    expect(await rawExchange(upgrade('//['))).toMatch(/^HTTP\/1\.1 400 /);
    // Refused upgrades used to stay half-open for ever.
    expect(await rawExchange(upgrade('/ws/unknown'))).toMatch(/^HTTP\/1\.1 404 /);
    expect((await get(`${baseUrl()}/health`)).status).toBe(200);
  });

  it('closes a WebSocket that sends more than its route maxPayload with 1009', async () => {
    const socket = new WebSocket(`${baseUrl().replace('http', 'ws')}/ws/echo`);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('x'.repeat(2048));
    expect(await closed).toBe(1009);
  });
});

describe('stop bounds in-flight requests', () => {
  it('gives up on a request that outlives shutdown_timeout_ms', async () => {
    const database = await createTestDatabase('sqlite');
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const never = new Promise<void>(() => undefined);
    const manager = await createManager({
      config: testConfig(database, { shutdown_timeout_ms: 200 }),
      plugins: [testPlugin(never, markStarted)]
    });
    await manager.start();
    const port = (manager.server.listener.address() as AddressInfo).port;
    const outcome = get(`http://127.0.0.1:${port}/slow`).then(
      (res) => `completed with ${res.status}`,
      (err: Error) => err.message
    );
    await started;
    await manager.stop();
    // The connection was cut instead of waiting forever.
    expect(await outcome).toMatch(/socket hang up|ECONNRESET/);
    await database.cleanup();
  });
});
