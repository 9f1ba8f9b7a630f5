import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createTestDatabase, selfSignedCertificate, testConfig } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import WebSocket from 'ws';
import { ConfigError, createManager } from '../src';

const wsEcho: Plugin<unknown> = {
  name: 'ws-echo',
  register(server) {
    server.manager.websockets.route('/ws/echo', {
      maxPayload: 1024,
      onConnection: (socket) => socket.on('message', (data: Buffer) => socket.send(`echo:${data.toString()}`))
    });
  }
};

describe('TLS', () => {
  it('serves HTTPS and WSS with the configured certificate', async () => {
    const database = await createTestDatabase('sqlite');
    const { cert, key } = selfSignedCertificate(database.dataDir);
    const manager = await createManager({ config: testConfig(database, { tls_cert: cert, tls_key: key }), plugins: [wsEcho] });
    await manager.start();
    const port = (manager.server.listener.address() as AddressInfo).port;
    const ca = fs.readFileSync(cert);

    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/health', ca }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body)).toMatchObject({ status: 'ok' });

    const socket = new WebSocket(`wss://127.0.0.1:${port}/ws/echo`, { ca });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const reply = new Promise<string>((resolve) => socket.once('message', (d: Buffer) => resolve(d.toString())));
    socket.send('hello');
    expect(await reply).toBe('echo:hello');
    socket.close();

    await manager.stop();
    await database.cleanup();
  });

  it('refuses to start when the certificate file cannot be read', async () => {
    const database = await createTestDatabase('sqlite');
    const missing = path.join(database.dataDir, 'missing.pem');
    await expect(createManager({ config: testConfig(database, { tls_cert: missing, tls_key: missing }) })).rejects.toThrow(
      new ConfigError(`cannot read BILBYCAST_TLS_CERT ${missing}: ENOENT`)
    );
    await database.cleanup();
  });
});
