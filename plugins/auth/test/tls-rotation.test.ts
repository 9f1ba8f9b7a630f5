import crypto from 'node:crypto';
import { SecretBox, createManager, parseMasterKey, reencryptSecrets } from '@bilbycast/core';
import { createTestDatabase, selfSignedCertificate, testConfig, testDatabases } from '@bilbycast/tests';
import users from '@bilbycast/users';
import auth from '../src';
import { currentTotp } from '../src/services/totp';
import { Browser, seedUser } from './auth-harness';

describe('HSTS', () => {
  it('is sent on every response when the manager serves TLS, and not otherwise', async () => {
    const database = await createTestDatabase('sqlite');
    const { cert, key } = selfSignedCertificate(database.dataDir);
    const tls = await createManager({ config: testConfig(database, { tls_cert: cert, tls_key: key }), plugins: [users, auth] });
    await tls.initialize();
    for (const url of ['/health', '/api/v1/nope']) {
      expect((await tls.server.inject(url)).headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
    }
    await tls.stop();
    const other = await createTestDatabase('sqlite');
    const plain = await createManager({ config: testConfig(other), plugins: [users, auth] });
    await plain.initialize();
    expect((await plain.server.inject('/health')).headers['strict-transport-security']).toBeUndefined();
    await plain.stop();
    await database.cleanup();
    await other.cleanup();
  });
});

describe.each(testDatabases())('master-key rotation with auth secrets on %s', (kind) => {
  it('re-encrypts TOTP secrets so that MFA logins keep working under the new key only', async () => {
    const database = await createTestDatabase(kind);
    const oldKey = crypto.randomBytes(32).toString('hex');
    const newKey = crypto.randomBytes(32).toString('hex');
    const first = await createManager({ config: testConfig(database, { master_key: oldKey }), plugins: [users, auth] });
    await first.initialize();
    await seedUser(first, 'rita', 'viewer');
    const browser = new Browser(first);
    await browser.login('rita');
    const { secret } = (await browser.request('POST', '/api/v1/auth/mfa/totp/setup')).result as { secret: string };
    expect((await browser.request('POST', '/api/v1/auth/mfa/totp/confirm', { code: await currentTotp(secret) })).statusCode).toBe(200);
    const columns = first.context.secretColumns.list().map((c) => `${c.table}.${c.column}`);
    expect(columns).toEqual(expect.arrayContaining(['auth_mfa.totp_secret', 'auth_mfa.pending_secret', 'auth_oidc_client.client_secret']));
    const report = await reencryptSecrets(first.context.db, first.context.secretColumns.list(), first.context.secrets, new SecretBox(parseMasterKey(newKey)));
    expect(report.reencrypted['auth_mfa.totp_secret']).toBe(1);
    await first.stop();

    await expect(createManager({ config: testConfig(database, { master_key: oldKey }), plugins: [users, auth] }).then((m) => m.initialize())).rejects.toThrow(
      /does not match/
    );
    const second = await createManager({ config: testConfig(database, { master_key: newKey }), plugins: [users, auth] });
    await second.initialize();
    const again = new Browser(second);
    const challenge = ((await again.login('rita')).result as { challenge_token: string }).challenge_token;
    const code = await currentTotp(secret, new Date(Date.now() + 30_000));
    expect((await again.request('POST', '/api/v1/auth/mfa/verify', { challenge_token: challenge, code })).statusCode).toBe(200);
    await second.stop();
    await database.cleanup();
  });
});
