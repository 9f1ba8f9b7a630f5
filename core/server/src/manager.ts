import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import tlsModule from 'node:tls';
import Hapi, { type Plugin, type Request, type Server, type ServerRegisterPluginObject } from '@hapi/hapi';
import Inert from '@hapi/inert';
import Vision from '@hapi/vision';
import HapiPino from 'hapi-pino';
import HapiSwagger from 'hapi-swagger';
import type { Knex } from 'knex';
import type { DestinationStream, Logger } from 'pino';
import { registerAccessEnforcement, type RouteAccess } from './access/enforcement';
import { clientAddressResolver, forwardedHttpsResolver } from './http/client-address';
import { AUDIT_TABLE, AuditLog, auditMigration } from './audit/audit-log';
import { auditRoutes } from './audit/routes';
import { ConfigError } from './config/errors';
import { pluginConfigOptions, settlePluginOptions } from './config/plugin-options';
import type { ManagerConfig } from './config/schema';
import { coreMigrations } from './database/core-migrations';
import { assertDatabaseUsable, describeDatabase, openDatabase, parseDatabaseUrl, type DatabaseTarget } from './database/connection';
import { MigrationRegistry } from './database/migrations';
import { listTables } from './database/table-list';
import { discoverDrivers } from './drivers/discovery';
import { DriverRegistry } from './drivers/registry';
import { deviceTypeRoutes, prepareDeviceTypeViews } from './drivers/device-type-routes';
import { driverRoutes } from './drivers/routes';
import { KEY_CHECK_TABLE, keyCheckColumn, resolveMasterKey, verifyMasterKey } from './encryption/master-key';
import { SecretBox } from './encryption/secret-box';
import { SecretColumnRegistry } from './encryption/secret-columns';
import { healthRoutes } from './health/routes';
import { registerErrorShaping, validationFailAction } from './http/errors';
import { createLogger } from './http/logger';
import { BackupTableRegistry } from './extensions/backup-tables';
import { InProcessBus, type ClusterBus } from './extensions/cluster-bus';
import { FeatureChecks } from './extensions/feature-checks';
import { SettingsRegistry } from './extensions/settings-registry';
import { ServiceRegistry } from './services';
import { WebSocketRouter } from './websocket/router';

const CORE_VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

/** What every plugin reaches through `server.manager`. */
export interface ManagerContext {
  config: ManagerConfig;
  version: string;
  startedAt: number;
  logger: Logger;
  db: Knex;
  database: DatabaseTarget;
  migrations: MigrationRegistry;
  /** Encrypts and decrypts secrets at rest under the master key. */
  secrets: SecretBox;
  /** Where the master key came from: configuration (env/file option) or `<data_dir>/master.key`. */
  masterKey: { source: 'config' | 'file'; file?: string };
  /** Columns holding SecretBox values; plugins register theirs for key rotation. */
  secretColumns: SecretColumnRegistry;
  drivers: DriverRegistry;
  websockets: WebSocketRouter;
  services: ServiceRegistry;
  /** The append-only audit log every plugin writes through. */
  audit: AuditLog;
  /** Publish/subscribe for what every instance must hear (sessions ended, settings changed…). */
  bus: ClusterBus;
  /** Live-tunable settings, declared by the plugins that own them. */
  settings: SettingsRegistry;
  /** Which tables a backup carries (durable) and which it leaves out (ephemeral), per plugin. */
  backupTables: BackupTableRegistry;
  /** What a license allows (features, limits): everything without a license plugin. */
  features: FeatureChecks;
  /**
   * Who a WebSocket upgrade comes from, as `request.clientIp` tells for HTTP requests (the
   * peer, or X-Forwarded-For from a trusted proxy).
   */
  clientAddress(message: IncomingMessage): string;
}

declare module '@hapi/hapi' {
  interface Server {
    manager: ManagerContext;
  }
  interface Request {
    /** Who the request comes from (the peer, or X-Forwarded-For from a trusted proxy): rate limits and audit use this. */
    clientIp: string;
    /**
     * A trusted proxy says the client reached it over HTTPS (`X-Forwarded-Proto: https`, with
     * trust_proxy_header on). Cookies set on such a request are marked Secure.
     */
    forwardedHttps: boolean;
  }
  interface PluginSpecificConfiguration {
    bilbycast?: { access: RouteAccess };
  }
}

// Each plugin has its own options type: only `any` admits them all (hapi's types are contravariant in them).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ManagerPlugin = Plugin<any> | ServerRegisterPluginObject<any>;

export interface CreateManagerOptions {
  config: ManagerConfig;
  /** Application plugins, registered in this order (hapi checks their declared dependencies). */
  plugins?: ManagerPlugin[];
  /** Driver package names that ship with this build. */
  builtinDrivers?: string[];
  /** Driver objects passed in directly by an integrator. */
  drivers?: { definition: unknown; package: string; version: string }[];
  /** Folders to resolve builtin and configured driver packages from (default: this package's). */
  driverResolvePaths?: string[];
  /** Reported by /health and the OpenAPI document (default: the core package version). */
  version?: string;
  /** Write log lines here instead of stdout (tests). */
  logDestination?: DestinationStream;
}

export interface Manager {
  server: Server;
  context: ManagerContext;
  /** Runs migrations and plugin start-up work without listening (CLI commands, tests). */
  initialize(): Promise<void>;
  /** Initializes if needed and listens. A port in use becomes a ConfigError. */
  start(): Promise<void>;
  /** Graceful: stop accepting, close WebSockets with 1001, finish in-flight requests (bounded), close the database. */
  stop(): Promise<void>;
}

/** Builds the manager from a validated config, the chosen plugins and the discovered drivers. */
export async function createManager(options: CreateManagerOptions): Promise<Manager> {
  const declaredOptions = pluginConfigOptions(options.plugins ?? []);
  const { plugin_options, ignoredVariables } = settlePluginOptions(options.config, declaredOptions);
  const config: ManagerConfig = { ...options.config, plugin_options };
  const secretOptions = Object.entries(declaredOptions).flatMap(([key, option]) => (option.secret ? [key] : []));
  const logger = createLogger(config, options.logDestination, secretOptions);
  const version = options.version ?? CORE_VERSION;
  if (ignoredVariables.length > 0) {
    logger.warn(
      { variables: ignoredVariables },
      'environment variables of plugin options ignored: the configuration was loaded without their plugins (pass them to loadConfig)'
    );
  }

  try {
    fs.mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ConfigError(`cannot create data dir ${config.data_dir}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const tls = config.tls_cert && config.tls_key ? tlsPair(config.tls_cert, config.tls_key) : undefined;
  const database = parseDatabaseUrl(config.database_url, config.data_dir);
  const masterKey = resolveMasterKey(config.master_key, config.data_dir, logger);
  const secrets = new SecretBox(masterKey.key);

  const discovered = await discoverDrivers({
    builtin: options.builtinDrivers ?? [],
    configured: config.drivers,
    dataDir: config.data_dir,
    integrator: options.drivers ?? [],
    resolvePaths: options.driverResolvePaths ?? [process.cwd(), __dirname]
  });
  for (const refused of discovered.refused) {
    logger.warn({ driver: refused.package, version: refused.version, source: refused.source }, `driver refused: ${refused.reason}`);
  }

  const db = openDatabase(database);

  const clientAddress = clientAddressResolver(config.trust_proxy_header, config.trusted_proxies);
  const forwardedHttps = forwardedHttpsResolver(config.trust_proxy_header, config.trusted_proxies);
  const server = Hapi.server({
    host: config.host,
    port: config.port,
    tls,
    debug: false,
    // Cookie defaults, inherited by every cookie definition (bell's included, whose options are
    // fixed): on a request that reached a trusted proxy over HTTPS, cookies are marked Secure
    // even where the definition says otherwise because neither TLS nor behind_https is set.
    state: {
      contextualize: (definition, request) => {
        if (request.forwardedHttps) definition.isSecure = true;
      }
    },
    routes: {
      validate: { failAction: validationFailAction, options: { abortEarly: false } },
      response: { failAction: 'log' }
    }
  });

  const bus = new InProcessBus((topic, err) => logger.error({ err, topic }, 'a cluster bus subscriber failed'));
  const drivers = new DriverRegistry(discovered.loaded, discovered.refused);
  prepareDeviceTypeViews(drivers, logger);
  const context: ManagerContext = {
    config,
    version,
    startedAt: Date.now(),
    logger,
    db,
    database,
    migrations: new MigrationRegistry(),
    secrets,
    masterKey: { source: masterKey.source, file: masterKey.file },
    secretColumns: new SecretColumnRegistry(),
    drivers,
    websockets: new WebSocketRouter(logger),
    services: new ServiceRegistry(),
    audit: new AuditLog(db, logger),
    bus,
    settings: new SettingsRegistry(bus, (key, err) => logger.error({ err, key }, 'a setting change listener failed')),
    backupTables: new BackupTableRegistry(),
    features: new FeatureChecks(),
    clientAddress: (message) => clientAddress(message.socket.remoteAddress ?? '', message.headers['x-forwarded-for'])
  };
  server.decorate('server', 'manager', context);
  server.decorate('request', 'clientIp', (request: Request) => clientAddress(request.info.remoteAddress, request.headers['x-forwarded-for']), { apply: true });
  server.decorate('request', 'forwardedHttps', (request: Request) => forwardedHttps(request.info.remoteAddress, request.headers['x-forwarded-proto']), {
    apply: true
  });
  context.migrations.add('core', [...coreMigrations, auditMigration]);
  // The key check belongs to the master key in use, not to the data: a restore keeps its own.
  context.backupTables.declare('core', { durable: [AUDIT_TABLE], ephemeral: [KEY_CHECK_TABLE] });
  context.secretColumns.register(keyCheckColumn);
  context.websockets.attach(server.listener);

  await server.register([
    { plugin: HapiPino, options: { instance: logger, logPayload: false, ignorePaths: ['/health'], logRequestStart: false } },
    Inert,
    Vision,
    {
      plugin: HapiSwagger,
      options: {
        OAS: 'v3.0',
        jsonPath: '/openapi.json',
        documentationPath: '/documentation',
        info: { title: 'bilbycast-manager API', version },
        grouping: 'tags',
        auth: false
      }
    }
  ]);
  registerErrorShaping(server, logger);
  registerAccessEnforcement(server);

  // Migrations and the master-key check run before any plugin's own start-up work.
  server.ext('onPreStart', async () => {
    await assertDatabaseUsable(db, database);
    // A wrong key is refused before any migration touches the database; on a new one the
    // check value is written once the tables exist.
    const known = await db.schema.hasTable(KEY_CHECK_TABLE);
    if (known) await verifyMasterKey(db, secrets, masterKey.file);
    const applied = await context.migrations.latest(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    if (!known) await verifyMasterKey(db, secrets, masterKey.file);
    const undeclared = (await listTables(db)).filter((table) => !table.startsWith('knex_migrations') && !context.backupTables.has(table));
    if (undeclared.length > 0) {
      logger.warn(
        { tables: undeclared },
        'tables no plugin declared for backup (durable or ephemeral): a backup refuses to run until their plugin declares them'
      );
    }
  });
  server.ext('onPreStop', async () => {
    await context.websockets.closeAll(Math.min(config.shutdown_timeout_ms, 5000));
  });
  server.ext('onPostStop', async () => {
    await db.destroy();
  });

  // Their handlers reach what they need through `request.server.manager`.
  server.route([...healthRoutes, ...auditRoutes, ...driverRoutes, ...deviceTypeRoutes]);
  for (const plugin of options.plugins ?? []) {
    await server.register(plugin as ServerRegisterPluginObject<unknown>);
  }

  logger.info({ database: describeDatabase(database), drivers: context.drivers.list().map((d) => d.definition.device_type) }, 'manager configured');

  let initialized: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  // A failed start-up (migration, master-key check, plugin bootstrap) closes the database so
  // that the process can exit with its error instead of being held open by the pool.
  const initialize = () =>
    (initialized ??= server.initialize().catch(async (err: unknown) => {
      await db.destroy().catch(() => undefined);
      throw err;
    }));
  return {
    server,
    context,
    initialize,
    async start() {
      await initialize();
      try {
        await server.start();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        await server.stop({ timeout: 0 });
        if (code === 'EADDRINUSE') throw new ConfigError(`port ${config.port} on ${config.host} is already in use`);
        if (code === 'EACCES') throw new ConfigError(`not allowed to listen on ${config.host}:${config.port}`);
        if (code === 'EADDRNOTAVAIL') throw new ConfigError(`cannot listen on ${config.host}: address not available`);
        if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new ConfigError(`cannot listen on ${config.host}: no such host`);
        throw err;
      }
      logger.info({ url: server.info.uri }, 'manager listening');
      const plainHttp = plainHttpWarning(config, (server.listener.address() as AddressInfo).address);
      if (plainHttp) logger.warn({ url: server.info.uri }, plainHttp);
    },
    stop() {
      return (stopping ??= server.stop({ timeout: config.shutdown_timeout_ms }));
    }
  };
}

/**
 * What to warn about when other machines can reach the manager over plain HTTP (no TLS of its
 * own, not declared to be behind an HTTPS proxy): passwords and session cookies travel in clear,
 * and browsers would send the cookies over plain HTTP too.
 */
function plainHttpWarning(config: ManagerConfig, listenAddress: string): string | undefined {
  if (config.tls_cert || config.behind_https || isLoopback(listenAddress)) return undefined;
  return config.trust_proxy_header
    ? 'serving plain HTTP on a non-loopback address: cookies are marked Secure only on requests a trusted proxy forwards with X-Forwarded-Proto: https, and requests that bypass the proxy are unencrypted; set behind_https if browsers reach the manager only through a TLS-terminating proxy, or serve HTTPS with tls_cert and tls_key'
    : 'serving plain HTTP on a non-loopback address: traffic is unencrypted and cookies are not marked Secure; serve HTTPS with tls_cert and tls_key, or behind a TLS-terminating proxy set behind_https (or trust_proxy_header with trusted_proxies, to honour its X-Forwarded-Proto: https)';
}

function isLoopback(address: string): boolean {
  const ipv4 = address.replace(/^::ffff:/i, '');
  return net.isIPv4(ipv4) ? ipv4.startsWith('127.') : address === '::1';
}

/** The certificate and key, checked to be PEM and to belong together (a ConfigError naming the settings otherwise). */
function tlsPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const pair = { cert: readPem(certFile, 'BILBYCAST_TLS_CERT'), key: readPem(keyFile, 'BILBYCAST_TLS_KEY') };
  try {
    tlsModule.createSecureContext(pair);
  } catch (err) {
    throw new ConfigError(`BILBYCAST_TLS_CERT and BILBYCAST_TLS_KEY are not a usable PEM certificate and matching key: ${(err as Error).message}`);
  }
  return pair;
}

function readPem(file: string, option: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read ${option} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
