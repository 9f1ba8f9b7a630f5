import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Joi from 'joi';
import { ConfigError, describeDatabase, loadConfig, parseDatabaseUrl, type LoadConfigOptions, type PluginConfigOption } from '../src';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-config-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeConfigFile(content: unknown, name = 'config.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** loadConfig must throw a ConfigError; returns its message. */
function configError(options: LoadConfigOptions): string {
  let error: unknown;
  try {
    loadConfig({ env: {}, ...options });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).message;
}

describe('loadConfig', () => {
  it('fills in the defaults', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.data_dir).toBe(path.join(dir, 'data'));
    expect(config.log_level).toBe('info');
    expect(config.log_format).toBe('auto');
    expect(config.drivers).toEqual([]);
    expect(config.behind_https).toBe(false);
    expect(config.shutdown_timeout_ms).toBe(10_000);
    expect(config.database_url).toBeUndefined();
    expect(config.master_key).toBeUndefined();
    expect(config.tls_cert).toBeUndefined();
    expect(config.plugin_options).toEqual({});
  });

  it('resolves the default data dir against the current directory when no cwd is given', () => {
    const config = loadConfig({ env: {} });
    expect(path.isAbsolute(config.data_dir)).toBe(true);
    expect(config.data_dir).toBe(path.resolve(process.cwd(), 'data'));
  });

  it('lets the config file override defaults and the environment override both', () => {
    const file = writeConfigFile({ host: '0.0.0.0', port: 9000, log_level: 'debug', data_dir: 'state' });
    const fromFile = loadConfig({ file, env: {}, cwd: dir });
    expect(fromFile.host).toBe('0.0.0.0');
    expect(fromFile.port).toBe(9000);
    expect(fromFile.log_level).toBe('debug');
    expect(fromFile.data_dir).toBe(path.join(dir, 'state'));

    const withEnv = loadConfig({
      file,
      env: { BILBYCAST_PORT: '9100', BILBYCAST_DATA_DIR: '/srv/bilbycast', BILBYCAST_LOG_LEVEL: '' },
      cwd: dir
    });
    expect(withEnv.port).toBe(9100);
    expect(withEnv.data_dir).toBe('/srv/bilbycast');
    // Unset or empty variables leave the file's value in place.
    expect(withEnv.host).toBe('0.0.0.0');
    expect(withEnv.log_level).toBe('debug');
  });

  it('places code overrides between the config file and the environment', () => {
    const file = writeConfigFile({ port: 9000, host: '0.0.0.0' });
    const config = loadConfig({ file, cwd: dir, overrides: { port: 9001, log_level: 'warn' }, env: { BILBYCAST_LOG_LEVEL: 'error' } });
    expect(config.port).toBe(9001);
    expect(config.host).toBe('0.0.0.0');
    expect(config.log_level).toBe('error');
  });

  it('reads a relative config file path against cwd', () => {
    writeConfigFile({ port: 9200 }, 'relative.json');
    expect(loadConfig({ file: 'relative.json', env: {}, cwd: dir }).port).toBe(9200);
  });

  it('resolves relative TLS paths against cwd', () => {
    const config = loadConfig({ env: { BILBYCAST_TLS_CERT: 'tls/cert.pem', BILBYCAST_TLS_KEY: '/etc/key.pem' }, cwd: dir });
    expect(config.tls_cert).toBe(path.join(dir, 'tls/cert.pem'));
    expect(config.tls_key).toBe('/etc/key.pem');
  });

  it('resolves a relative sqlite: database path against cwd and leaves other URLs alone', () => {
    expect(loadConfig({ env: { BILBYCAST_DATABASE_URL: 'sqlite:db/m.db' }, cwd: dir }).database_url).toBe(`sqlite:${path.join(dir, 'db/m.db')}`);
    expect(loadConfig({ env: { BILBYCAST_DATABASE_URL: 'sqlite:///srv/m.db' }, cwd: dir }).database_url).toBe('sqlite:/srv/m.db');
    const mysql = 'mysql://u:p@127.0.0.1:3306/db';
    expect(loadConfig({ env: { BILBYCAST_DATABASE_URL: mysql }, cwd: dir }).database_url).toBe(mysql);
  });

  it('splits BILBYCAST_DRIVERS on commas, trimming and dropping empty entries', () => {
    const file = writeConfigFile({ drivers: ['from-file'] });
    expect(loadConfig({ file, env: {}, cwd: dir }).drivers).toEqual(['from-file']);
    const config = loadConfig({ file, env: { BILBYCAST_DRIVERS: ' @acme/driver-edge, bilbycast-driver-relay ,,' }, cwd: dir });
    expect(config.drivers).toEqual(['@acme/driver-edge', 'bilbycast-driver-relay']);
  });

  it('reads BILBYCAST_TRUSTED_PROXIES as a list of addresses or ranges and refuses anything else', () => {
    expect(loadConfig({ env: {}, cwd: dir }).trusted_proxies).toEqual([]);
    expect(loadConfig({ env: { BILBYCAST_TRUSTED_PROXIES: '192.0.2.10, 198.51.100.0/24' }, cwd: dir }).trusted_proxies).toEqual([
      '192.0.2.10',
      '198.51.100.0/24'
    ]);
    expect(() => loadConfig({ env: { BILBYCAST_TRUSTED_PROXIES: '10.0.0.0/8,lb.example' }, cwd: dir })).toThrow(
      /trusted_proxies.*BILBYCAST_TRUSTED_PROXIES|BILBYCAST_TRUSTED_PROXIES.*trusted_proxies/
    );
  });

  it('refuses trust_proxy_header without trusted_proxies (no private network is trusted by default)', () => {
    expect(() => loadConfig({ env: { BILBYCAST_TRUST_PROXY_HEADER: '1' }, cwd: dir })).toThrow(
      /trust_proxy_header needs trusted_proxies.*BILBYCAST_TRUSTED_PROXIES/
    );
    expect(loadConfig({ env: { BILBYCAST_TRUST_PROXY_HEADER: '1', BILBYCAST_TRUSTED_PROXIES: '10.0.0.4' }, cwd: dir }).trust_proxy_header).toBe(true);
  });

  it.each([
    ['1', true],
    ['true', true],
    ['0', false],
    ['false', false]
  ])('reads BILBYCAST_BEHIND_HTTPS=%s as %s', (value, expected) => {
    const file = writeConfigFile({ behind_https: !expected });
    expect(loadConfig({ file, env: { BILBYCAST_BEHIND_HTTPS: value }, cwd: dir }).behind_https).toBe(expected);
  });

  it('converts numeric and boolean strings from the environment', () => {
    const config = loadConfig({ env: { BILBYCAST_PORT: '0', BILBYCAST_SHUTDOWN_TIMEOUT_MS: '250' }, cwd: dir });
    expect(config.port).toBe(0);
    expect(config.shutdown_timeout_ms).toBe(250);
  });

  it('accepts a well-formed master key', () => {
    const key = crypto.randomBytes(32).toString('hex');
    expect(loadConfig({ env: { BILBYCAST_MASTER_KEY: key }, cwd: dir }).master_key).toBe(key);
  });

  describe('errors', () => {
    it.each([
      ['abc', /"port" must be a number/],
      ['70000', /"port" must be less than or equal to 65535/],
      ['-1', /"port" must be greater than or equal to 0/],
      ['80.5', /"port" must be an integer/]
    ])('rejects BILBYCAST_PORT=%s', (value, pattern) => {
      const message = configError({ env: { BILBYCAST_PORT: value } });
      expect(message).toMatch(pattern);
      expect(message).toContain('BILBYCAST_PORT');
    });

    it('rejects a bad port in the config file, naming the option', () => {
      const message = configError({ file: writeConfigFile({ port: 70000 }) });
      expect(message).toMatch(/"port"/);
      expect(message).toContain('BILBYCAST_PORT');
    });

    it.each([
      ['too short', 'abcd'],
      ['not hex', 'z'.repeat(64)],
      ['too long', 'a'.repeat(66)]
    ])('rejects a master key that is %s without echoing it', (_label, value) => {
      const message = configError({ env: { BILBYCAST_MASTER_KEY: value } });
      expect(message).toContain('BILBYCAST_MASTER_KEY');
      expect(message).toMatch(/64 hexadecimal characters/);
      expect(message).not.toContain(value);
    });

    it('rejects an unknown log level', () => {
      const message = configError({ env: { BILBYCAST_LOG_LEVEL: 'loud' } });
      expect(message).toContain('BILBYCAST_LOG_LEVEL');
      expect(message).toMatch(/"log_level" must be one of/);
    });

    it('rejects BILBYCAST_BEHIND_HTTPS values that are not booleans', () => {
      expect(configError({ env: { BILBYCAST_BEHIND_HTTPS: 'maybe' } })).toContain('BILBYCAST_BEHIND_HTTPS');
    });

    it('rejects an unknown key in the config file, naming it', () => {
      const message = configError({ file: writeConfigFile({ port: 9000, prot: 9001 }) });
      expect(message).toBe('unknown option "prot" in the config file');
    });

    it('rejects a config file that is not JSON', () => {
      const file = writeConfigFile('port = 9000\n');
      const message = configError({ file });
      expect(message).toContain(file);
      expect(message).toMatch(/not valid JSON/);
    });

    it.each([
      ['an array', '[1, 2]'],
      ['null', 'null'],
      ['a string', '"port"']
    ])('rejects a config file holding %s', (_label, content) => {
      const file = writeConfigFile(content);
      expect(configError({ file })).toBe(`config file ${file} must hold a JSON object`);
    });

    it('rejects a missing config file', () => {
      const file = path.join(dir, 'absent.json');
      const message = configError({ file });
      expect(message).toContain(file);
      expect(message).toContain('ENOENT');
    });

    it.each([
      [{ BILBYCAST_TLS_CERT: 'cert.pem' }, 'tls_cert', 'tls_key'],
      [{ BILBYCAST_TLS_KEY: 'key.pem' }, 'tls_key', 'tls_cert']
    ])('rejects %j without its partner', (env, present, missing) => {
      const message = configError({ env });
      expect(message).toContain(present);
      expect(message).toContain(missing);
      expect(message).toMatch(/must be set together/);
    });
  });
});

describe('options a plugin adds', () => {
  const widgetOptions = {
    widget_user: { env: 'BILBYCAST_WIDGET_USER', schema: Joi.string().max(8), meaning: 'who', with: 'widget_secret' },
    widget_secret: { env: 'BILBYCAST_WIDGET_SECRET', schema: Joi.string(), meaning: 'their secret', secret: true },
    widget_count: { env: 'BILBYCAST_WIDGET_COUNT', schema: Joi.number().integer().default(3), meaning: 'how many' }
  } satisfies Record<string, PluginConfigOption>;
  const widgets = (configOptions: Record<string, PluginConfigOption> = widgetOptions) => ({ name: 'widgets', register: () => undefined, configOptions });

  it('are read from the config file and the environment into plugin_options, with their defaults', () => {
    const file = writeConfigFile({ widget_user: 'ann', widget_secret: 'from-file', port: 9000 });
    const config = loadConfig({ file, env: { BILBYCAST_WIDGET_SECRET: 'from-env' }, cwd: dir, plugins: [widgets()] });
    expect(config.plugin_options).toEqual({ widget_user: 'ann', widget_secret: 'from-env', widget_count: 3 });
    expect(config.port).toBe(9000);
    expect(config).not.toHaveProperty('widget_user');
    // Every form hapi registers a plugin in.
    for (const entry of [{ plugin: widgets() }, { plugin: { plugin: widgets() } }]) {
      expect(loadConfig({ env: { BILBYCAST_WIDGET_COUNT: '7' }, plugins: [entry] }).plugin_options).toEqual({ widget_count: 7 });
    }
  });

  it('are unknown without their plugin, and validated with it, naming the variable', () => {
    const file = writeConfigFile({ widget_user: 'ann' });
    expect(configError({ file })).toBe('unknown option "widget_user" in the config file');
    const message = configError({ env: { BILBYCAST_WIDGET_USER: 'much-too-long', BILBYCAST_WIDGET_SECRET: 's' }, plugins: [widgets()] });
    expect(message).toMatch(
      /"widget_user" length must be less than or equal to 8 characters long \(BILBYCAST_WIDGET_USER or "widget_user" in the config file\)/
    );
  });

  it.each([
    [{ BILBYCAST_WIDGET_USER: 'ann' }, 'widget_user', 'widget_secret'],
    [{ BILBYCAST_WIDGET_SECRET: 'Sup3r-Secret-Pass' }, 'widget_secret', 'widget_user']
  ])('paired with `with` are refused one without the other (%j), never echoing the value', (env, present, missing) => {
    const message = configError({ env, plugins: [widgets()] });
    expect(message).toContain(`[${present}] must be set together with [${missing}]`);
    expect(message).not.toContain('Sup3r-Secret-Pass');
  });

  it.each([
    [{ port: { env: 'BILBYCAST_WIDGET_PORT', schema: Joi.number(), meaning: '' } }, 'configuration option port of widgets is already declared by the host'],
    [
      { widget_port: { env: 'BILBYCAST_PORT', schema: Joi.number(), meaning: '' } },
      'configuration option BILBYCAST_PORT of widgets is already declared by the host'
    ],
    [
      { widget_port: { env: 'BILBYCAST_X', schema: Joi.number(), meaning: '', with: 'widget_host' } },
      'configuration option widget_port of widgets names widget_host, which it does not declare'
    ]
  ])('a key or variable already taken, or a pairing with nothing, is refused: %j', (configOptions, message) => {
    expect(configError({ plugins: [widgets(configOptions)] })).toBe(message);
  });

  it('of two plugins may not share a key', () => {
    const other = {
      name: 'gadgets',
      register: () => undefined,
      configOptions: { widget_count: { env: 'BILBYCAST_GADGET_COUNT', schema: Joi.number(), meaning: '' } }
    };
    expect(configError({ plugins: [widgets(), other] })).toBe('configuration option widget_count of gadgets is already declared by widgets');
  });
});

describe('parseDatabaseUrl', () => {
  it('defaults to the SQLite file in the data dir', () => {
    expect(parseDatabaseUrl(undefined, '/var/lib/bilbycast')).toEqual({
      client: 'sqlite',
      filename: '/var/lib/bilbycast/bilbycast-manager.db'
    });
    expect(parseDatabaseUrl('', '/var/lib/bilbycast')).toEqual({
      client: 'sqlite',
      filename: '/var/lib/bilbycast/bilbycast-manager.db'
    });
  });

  it('resolves sqlite:<relative path> against the current directory', () => {
    expect(parseDatabaseUrl('sqlite:db/manager.db', '/data')).toEqual({
      client: 'sqlite',
      filename: path.resolve(process.cwd(), 'db/manager.db')
    });
  });

  it('accepts sqlite:/abs and sqlite:///abs', () => {
    expect(parseDatabaseUrl('sqlite:/srv/m.db', '/data')).toEqual({ client: 'sqlite', filename: '/srv/m.db' });
    expect(parseDatabaseUrl('sqlite:///srv/m.db', '/data')).toEqual({ client: 'sqlite', filename: '/srv/m.db' });
  });

  it('rejects sqlite: without a path', () => {
    expect(() => parseDatabaseUrl('sqlite:', '/data')).toThrow(ConfigError);
  });

  it('parses mysql:// with a default port and a percent-decoded password', () => {
    expect(parseDatabaseUrl('mysql://bilby%20cast:p%40ss%3Aw%2Fd@db.example.net/manager', '/data')).toEqual({
      client: 'mysql',
      host: 'db.example.net',
      port: 3306,
      user: 'bilby cast',
      password: 'p@ss:w/d',
      database: 'manager'
    });
  });

  it('rejects a malformed %-escape with a ConfigError that shows no password', () => {
    expect(() => parseDatabaseUrl('mysql://bc:50%off@db/x', '/data')).toThrow(/malformed %-escape/);
    expect(() => parseDatabaseUrl('mysql://bc:50%off@db/x', '/data')).not.toThrow(/50%off/);
  });

  it('parses mariadb:// with an explicit port', () => {
    expect(parseDatabaseUrl('mariadb://root:pw@127.0.0.1:3307/bc', '/data')).toEqual({
      client: 'mysql',
      host: '127.0.0.1',
      port: 3307,
      user: 'root',
      password: 'pw',
      database: 'bc'
    });
  });

  it('rejects an unknown scheme, naming it but not the rest of the URL', () => {
    let error: unknown;
    try {
      parseDatabaseUrl('postgres://admin:hunter2@db/x', '/data');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('"postgres:"');
    expect((error as Error).message).toContain('BILBYCAST_DATABASE_URL');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('rejects postgres://x', () => {
    expect(() => parseDatabaseUrl('postgres://x', '/data')).toThrow(/unsupported scheme "postgres:"/);
  });

  it.each(['mysql://user:pw@db.example.net', 'mysql://user:pw@db.example.net/', 'mariadb://user:pw@db:3306'])('rejects %s (no database)', (url) => {
    let error: unknown;
    try {
      parseDatabaseUrl(url, '/data');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/must name a host and a database/);
    expect((error as Error).message).not.toContain('pw@');
  });
});

describe('describeDatabase', () => {
  it('describes a MariaDB target without its password', () => {
    const target = parseDatabaseUrl('mysql://manager:S3cr%23t-pw@db.example.net:3307/bc', '/data');
    const text = describeDatabase(target);
    expect(text).toBe('MariaDB/MySQL manager@db.example.net:3307/bc');
    expect(text).not.toContain('S3cr#t-pw');
    expect(text).not.toContain('S3cr%23t-pw');
  });

  it('describes a SQLite target by its file', () => {
    expect(describeDatabase(parseDatabaseUrl(undefined, '/var/lib/bc'))).toBe('SQLite /var/lib/bc/bilbycast-manager.db');
  });
});
