import { LogCapture, createTestDatabase, testConfig } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import { createManager } from '../src';

const SECRETS = {
  bearer: 'Bearer tok_live_5ecret',
  cookie: 'session=s3ssion-cookie-value',
  password: 'Hunter2-Password',
  token: 'registration-token-value',
  client_secret: 'oidc-client-secret-value'
};

const chatty: Plugin<unknown> = {
  name: 'chatty',
  register(server) {
    server.route({
      method: 'POST',
      path: '/api/v1/chatty',
      options: {
        auth: false,
        plugins: { bilbycast: { access: 'public' } },
        handler: (request) => {
          request.logger.info({ body: request.payload, password: SECRETS.password }, 'handled a login-like request');
          return { ok: true };
        }
      }
    });
  }
};

describe('logging', () => {
  it('writes JSON lines and redacts cookies, Authorization headers, passwords, tokens and secrets', async () => {
    const database = await createTestDatabase('sqlite');
    const logs = new LogCapture();
    const manager = await createManager({
      config: testConfig(database, { log_level: 'info' }),
      plugins: [chatty],
      logDestination: logs
    });
    await manager.initialize();
    const res = await manager.server.inject({
      method: 'POST',
      url: '/api/v1/chatty',
      headers: { authorization: SECRETS.bearer, cookie: SECRETS.cookie },
      payload: { username: 'alice', password: SECRETS.password, token: SECRETS.token, nested: { client_secret: SECRETS.client_secret } }
    });
    expect(res.statusCode).toBe(200);
    await manager.stop();

    const entries = logs.entries();
    expect(entries.length).toBeGreaterThan(0);
    const handled = entries.find((e) => e.msg === 'handled a login-like request');
    expect(handled).toMatchObject({ password: '[redacted]', body: { username: 'alice', password: '[redacted]', token: '[redacted]' } });
    const completed = entries.find((e) => (e.req as { url?: string } | undefined)?.url === '/api/v1/chatty');
    expect(completed).toBeDefined();
    expect((completed!.req as { headers: Record<string, string> }).headers).toMatchObject({
      authorization: '[redacted]',
      cookie: '[redacted]'
    });
    for (const secret of Object.values(SECRETS)) {
      expect(logs.text).not.toContain(secret.replace(/^Bearer /, ''));
    }
    await database.cleanup();
  });
});
