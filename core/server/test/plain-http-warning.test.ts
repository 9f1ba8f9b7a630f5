import { LogCapture, createTestDatabase, selfSignedCertificate, testConfig } from '@bilbycast/tests';
import { createManager, type ManagerConfig } from '../src';

/** The warnings about plain HTTP that a manager logs when started with `config` (given the data dir for files it needs). */
async function plainHttpWarnings(config: (dataDir: string) => Partial<ManagerConfig>): Promise<Record<string, unknown>[]> {
  const database = await createTestDatabase('sqlite');
  const logs = new LogCapture();
  try {
    const manager = await createManager({ config: testConfig(database, { log_level: 'warn', ...config(database.dataDir) }), logDestination: logs });
    await manager.start();
    await manager.stop();
  } finally {
    await database.cleanup();
  }
  return logs.entries().filter((e) => e.level === 40 && /plain HTTP/.test(String(e.msg)));
}

describe('the start-up warning about plain HTTP on the network', () => {
  it('is logged when the manager listens beyond loopback without TLS or behind_https', async () => {
    const warnings = await plainHttpWarnings(() => ({ host: '0.0.0.0' }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toMatch(/non-loopback address: traffic is unencrypted and cookies are not marked Secure/);
    expect(warnings[0].msg).toMatch(/tls_cert.*behind_https.*trust_proxy_header/);
    expect(warnings[0].url).toMatch(/^http:\/\//);
  });

  it('says, with trust_proxy_header on, that cookies are Secure only on requests the proxy marks https', async () => {
    const warnings = await plainHttpWarnings(() => ({ host: '0.0.0.0', trust_proxy_header: true, trusted_proxies: ['10.0.0.5'] }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toMatch(/cookies are marked Secure only on requests a trusted proxy forwards with X-Forwarded-Proto: https/);
    expect(warnings[0].msg).toMatch(/behind_https/);
  });

  it('is not logged on loopback, with behind_https, or with TLS', async () => {
    expect(await plainHttpWarnings(() => ({ host: '127.0.0.1' }))).toEqual([]);
    expect(await plainHttpWarnings(() => ({ host: '0.0.0.0', behind_https: true }))).toEqual([]);
    expect(await plainHttpWarnings((dataDir) => ({ host: '0.0.0.0', ...tlsFiles(dataDir) }))).toEqual([]);
  });
});

function tlsFiles(dir: string): Pick<ManagerConfig, 'tls_cert' | 'tls_key'> {
  const { cert, key } = selfSignedCertificate(dir);
  return { tls_cert: cert, tls_key: key };
}
