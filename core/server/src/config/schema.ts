import path from 'node:path';
import Joi from 'joi';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The validated, fully defaulted manager configuration. */
export interface ManagerConfig {
  host: string;
  port: number;
  /** Absolute path. Holds the SQLite file, the master key file and the drivers folder. */
  data_dir: string;
  /** Unset means the embedded SQLite file `<data_dir>/bilbycast-manager.db`. */
  database_url?: string;
  /** 64 hex characters. Unset means `<data_dir>/master.key`, generated on first start. */
  master_key?: string;
  tls_cert?: string;
  tls_key?: string;
  /** The manager sits behind a TLS-terminating proxy: cookies are marked Secure. */
  behind_https: boolean;
  /** Take the client address from X-Forwarded-For, and HTTPS from X-Forwarded-Proto, when the request comes from a trusted proxy. */
  trust_proxy_header: boolean;
  /** Addresses or CIDR ranges of the proxies whose X-Forwarded-For and X-Forwarded-Proto are believed. */
  trusted_proxies: string[];
  log_level: (typeof LOG_LEVELS)[number];
  log_format: 'auto' | 'json' | 'pretty';
  /** Extra driver packages to load, by npm package name. */
  drivers: string[];
  /** How long stop() waits for in-flight requests before closing them. */
  shutdown_timeout_ms: number;
  /** The values of the options the build's plugins add (see PluginConfigOption), by key. */
  plugin_options: Readonly<Record<string, unknown>>;
}

/**
 * One row per option of the host: its config-file key, environment variable, schema and
 * meaning (plugins add theirs: PluginConfigOption). The README's configuration table is
 * written from this list and the standard build's plugin options.
 */
export const CONFIG_OPTIONS = {
  host: {
    env: 'BILBYCAST_HOST',
    schema: Joi.string().hostname().default('127.0.0.1'),
    meaning: 'Listen address (devices on other machines need 0.0.0.0).'
  },
  port: {
    env: 'BILBYCAST_PORT',
    schema: Joi.number().integer().min(0).max(65535).default(8080),
    meaning: 'Listen port for HTTP and WebSocket (HTTPS and WSS with TLS).'
  },
  data_dir: {
    env: 'BILBYCAST_DATA_DIR',
    schema: Joi.string().min(1).default('./data'),
    meaning: 'Folder for the SQLite file, the master key file and installed drivers.'
  },
  database_url: {
    env: 'BILBYCAST_DATABASE_URL',
    schema: Joi.string().min(1),
    meaning: 'sqlite:<file> or mysql://user:pass@host:port/db (MariaDB or MySQL). Default: SQLite in the data dir.'
  },
  master_key: {
    env: 'BILBYCAST_MASTER_KEY',
    schema: Joi.string()
      .pattern(/^[0-9a-fA-F]{64}$/)
      .messages({ 'string.pattern.base': '{{#label}} must be 64 hexadecimal characters (32 bytes)' }),
    meaning: 'Key that encrypts secrets at rest. Unset: generated once into <data_dir>/master.key (mode 0600).'
  },
  tls_cert: {
    env: 'BILBYCAST_TLS_CERT',
    schema: Joi.string().min(1),
    meaning: 'PEM certificate file: serve HTTPS and WSS (needs tls_key).'
  },
  tls_key: {
    env: 'BILBYCAST_TLS_KEY',
    schema: Joi.string().min(1),
    meaning: 'PEM private key file for tls_cert.'
  },
  behind_https: {
    env: 'BILBYCAST_BEHIND_HTTPS',
    schema: Joi.boolean().truthy('1').falsy('0').default(false),
    meaning: 'The manager is reached through a TLS-terminating proxy: mark cookies Secure.'
  },
  trust_proxy_header: {
    env: 'BILBYCAST_TRUST_PROXY_HEADER',
    schema: Joi.boolean().truthy('1').falsy('0').default(false),
    meaning:
      'Behind a load balancer: rate limits and the audit log use the client address from X-Forwarded-For, and X-Forwarded-Proto: https marks cookies Secure and adds HSTS, believed only from trusted_proxies (which must then be set).'
  },
  trusted_proxies: {
    env: 'BILBYCAST_TRUSTED_PROXIES',
    schema: Joi.array()
      .items(Joi.string().ip({ cidr: 'optional' }))
      .default([]),
    meaning:
      'Proxies (addresses or CIDR ranges, comma-separated in the environment) whose X-Forwarded-For and X-Forwarded-Proto are believed; required with trust_proxy_header. No default: a whole private network is not a proxy.'
  },
  log_level: {
    env: 'BILBYCAST_LOG_LEVEL',
    schema: Joi.string()
      .valid(...LOG_LEVELS)
      .default('info'),
    meaning: 'fatal, error, warn, info, debug, trace or silent.'
  },
  log_format: {
    env: 'BILBYCAST_LOG_FORMAT',
    schema: Joi.string().valid('auto', 'json', 'pretty').default('auto'),
    meaning: 'auto: readable on a terminal, JSON otherwise.'
  },
  drivers: {
    env: 'BILBYCAST_DRIVERS',
    schema: Joi.array().items(Joi.string().min(1)).default([]),
    meaning: 'Extra driver packages to load by npm name (comma-separated in the environment).'
  },
  shutdown_timeout_ms: {
    env: 'BILBYCAST_SHUTDOWN_TIMEOUT_MS',
    schema: Joi.number().integer().min(0).max(600_000).default(10_000),
    meaning: 'How long a shutdown waits for in-flight requests before closing them.'
  }
} as const;

export type ConfigKey = keyof typeof CONFIG_OPTIONS;

/**
 * The host's options and the ones plugins add, in one schema (`with` pairs become joi `and`
 * rules); with `includeHost` false, the plugins' options alone.
 */
export function configSchema(pluginOptions: Readonly<Record<string, { schema: Joi.Schema; with?: string }>> = {}, includeHost = true): Joi.ObjectSchema {
  const schemas: Readonly<Record<string, { schema: Joi.Schema }>> = includeHost ? { ...CONFIG_OPTIONS, ...pluginOptions } : pluginOptions;
  let schema = Joi.object(Object.fromEntries(Object.entries(schemas).map(([key, option]) => [key, option.schema])));
  const pairs = new Set(Object.entries(pluginOptions).flatMap(([key, option]) => (option.with ? [[key, option.with].sort().join(' ')] : [])));
  for (const pair of pairs) schema = schema.and(...pair.split(' '));
  if (includeHost) {
    schema = schema
      .and('tls_cert', 'tls_key')
      // Believing X-Forwarded-For from every private address would let any host there pick its own address.
      .custom((config: { trust_proxy_header?: boolean; trusted_proxies?: string[] }, helpers) =>
        config.trust_proxy_header && (config.trusted_proxies ?? []).length === 0
          ? helpers.error('proxy.untrusted', { label: 'trusted_proxies' }, { path: ['trusted_proxies'] })
          : config
      );
  }
  return schema.messages({
    'object.and': '{{#presentWithLabels}} must be set together with {{#missingWithLabels}}',
    'proxy.untrusted': 'trust_proxy_header needs trusted_proxies: the addresses or ranges of your load balancers'
  });
}

/** Resolves paths in a validated config against a base directory. */
export function resolvePaths(config: ManagerConfig, baseDir: string): ManagerConfig {
  const resolve = (p: string | undefined) => (p === undefined ? undefined : path.resolve(baseDir, p));
  const sqliteFile = config.database_url?.match(/^sqlite:(?:\/\/)?(.+)$/i)?.[1];
  return {
    ...config,
    database_url: sqliteFile ? `sqlite:${path.resolve(baseDir, sqliteFile)}` : config.database_url,
    data_dir: path.resolve(baseDir, config.data_dir),
    tls_cert: resolve(config.tls_cert),
    tls_key: resolve(config.tls_key)
  };
}
