import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_NODES, DEMO_PASSWORD, DEMO_USERNAME, startDemo } from '../src';

async function eventually<T>(check: () => T | Promise<T>): Promise<NonNullable<T>> {
  for (let i = 0; ; i++) {
    const value = await check();
    if (value) return value;
    if (i > 500) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('npm run demo', () => {
  test('starts a live system: the demo admin signs in and sees every demo node online; a restart reconnects the same nodes', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-demo-'));
    const first = await startDemo({ dataDir, port: 0 });
    const login = await first.manager.server.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: DEMO_USERNAME, password: DEMO_PASSWORD }
    });
    expect(login.statusCode).toBe(200);
    const cookie = ([] as string[])
      .concat(login.headers['set-cookie'] ?? [])
      .map((c) => c.split(';')[0])
      .join('; ');
    const online = async (demo: typeof first) => {
      const res = await demo.manager.server.inject({ method: 'GET', url: '/api/v1/nodes?status=online', headers: { cookie } });
      return (res.result as { name: string; id: string }[]).length === DEMO_NODES.length ? (res.result as { name: string; id: string }[]) : undefined;
    };
    const nodes = await eventually(() => online(first));
    expect(nodes.map((n) => n.name).sort()).toEqual(DEMO_NODES.map((n) => n.name).sort());
    await eventually(
      () =>
        fs.existsSync(path.join(dataDir, 'demo-fleet.json')) &&
        JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-fleet.json'), 'utf8')).devices.length === DEMO_NODES.length
    );
    expect(fs.statSync(path.join(dataDir, 'demo-fleet.json')).mode & 0o777).toBe(0o600);
    await first.stop();

    const second = await startDemo({ dataDir, port: 0 });
    const again = await eventually(() => online(second));
    expect(again.map((n) => n.id).sort()).toEqual(nodes.map((n) => n.id).sort());
    await second.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
