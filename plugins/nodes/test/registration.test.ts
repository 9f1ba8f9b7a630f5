import { testDatabases } from '@bilbycast/tests';
import { RawDevice, eventually, nodesManager, type NodesTestManager } from './nodes-harness';

describe.each(testDatabases())('registration and sign-in (%s)', (kind) => {
  let t: NodesTestManager;

  beforeAll(async () => {
    t = await nodesManager(kind);
  });
  afterAll(async () => {
    await t.close();
  });

  const nodeRow = (id: string) => t.manager.context.db('nodes').where({ id }).first();

  test('register with the token, reconnect with the secret, a newer session supersedes, a new token revokes the secret', async () => {
    const { id, token } = await t.admin.addNode('Sydney edge 1');
    expect((await nodeRow(id)).status).toBe('pending');

    // 1. Registration: register_ack with the node id and a new secret; the token is consumed.
    const first = await RawDevice.signIn(t.nodeUrl, { registration_token: token, software_version: '0.106.0', protocol_version: 4 });
    expect(first.reply.type).toBe('register_ack');
    expect(first.reply.payload.node_id).toBe(id);
    expect(typeof first.reply.payload.node_secret).toBe('string');
    expect(first.reply.payload.node_secret.length).toBeGreaterThanOrEqual(32);
    const secret: string = first.reply.payload.node_secret;
    const stored = await nodeRow(id);
    expect(stored.status).toBe('online');
    expect(stored.registration_token_hash).toBeNull();
    // Neither the token nor the secret is stored as such.
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(stored.protocol_version).toBe(4);
    expect(stored.software_version).toBe('0.106.0');

    // The registering socket is live at once: stats on it are taken.
    first.device.send({ type: 'stats', payload: { flows: [], uptime_secs: 3 } });
    await eventually(async () => {
      const res = await t.admin.request('GET', `/api/v1/nodes/${id}/stats`);
      return (res.result as { stats: { uptime_secs?: number } | null }).stats?.uptime_secs === 3;
    });

    // 2. The token cannot be used again.
    const replay = await RawDevice.signIn(t.nodeUrl, { registration_token: token, software_version: '0.106.0', protocol_version: 4 });
    expect(replay.reply.type).toBe('auth_error');
    expect(replay.reply.message).toMatch(/registration token/i);
    expect(replay.reply.payload).toEqual({ error: replay.reply.message, message: replay.reply.message });
    expect((await replay.device.closed).code).toBe(1008);

    // 3. A reconnect with the secret supersedes the first session, whose close cannot evict it.
    const second = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, software_version: '0.106.1', protocol_version: 4 });
    expect(second.reply).toEqual({ type: 'auth_ok', timestamp: expect.any(String), payload: {} });
    await first.device.closed;
    second.device.send({ type: 'stats', payload: { flows: [], uptime_secs: 7 } });
    await eventually(
      async () => ((await t.admin.request('GET', `/api/v1/nodes/${id}/stats`)).result as { stats: { uptime_secs?: number } | null }).stats?.uptime_secs === 7
    );
    const afterSupersede = await t.admin.request('GET', `/api/v1/nodes/${id}`);
    expect(afterSupersede.result).toMatchObject({ status: 'online', software_version: '0.106.1' });

    // 4. A new token revokes the secret and disconnects the node.
    const regenerated = await t.admin.request('POST', `/api/v1/nodes/${id}/token`);
    expect(regenerated.statusCode).toBe(200);
    const newToken = (regenerated.result as { registration_token: string }).registration_token;
    expect(newToken).not.toBe(token);
    await second.device.closed;
    expect((await nodeRow(id)).status).toBe('pending');
    const oldSecret = await RawDevice.signIn(t.nodeUrl, { node_id: id, node_secret: secret, software_version: '0.106.1', protocol_version: 4 });
    expect(oldSecret.reply.type).toBe('auth_error');
    const third = await RawDevice.signIn(t.nodeUrl, { registration_token: newToken, software_version: '0.106.1', protocol_version: 4 });
    expect(third.reply.type).toBe('register_ack');
    expect(third.reply.payload.node_id).toBe(id);
    expect(third.reply.payload.node_secret).not.toBe(secret);
    third.device.close();
    await eventually(async () => (await nodeRow(id)).status === 'offline');
  });
});
