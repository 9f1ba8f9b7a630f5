import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type CliContribution, type PluginConfigOption } from '@bilbycast/core';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { usersCli } from './cli';
import { usersMigrations } from './migrations';
import type { UsersRouteContext } from './routes/route-context';
import { userCredentialRoutes } from './routes/user-credentials';
import { userRoutes } from './routes/users';
import { AccountError, Accounts } from './services/accounts';
import { UserDirectory } from './services/user-directory';

export { passwordProblems, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH } from './services/password-policy';
export { hashPassword, verifyPassword } from './services/password-hashing';
export { Accounts, AccountError, USERNAME_PATTERN } from './services/accounts';
export { UserDirectory, toUser, type User } from './services/user-directory';
export type {
  Account,
  AccountService,
  AccountWithPassword,
  SessionRevocation,
  SecondFactors,
  SsoIdentities,
  SsoIdentity,
  SsoLinkOutcome,
  SsoLinkSource
} from './services/account-services';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };

/** The bootstrap SuperAdmin's configuration options (config-file keys and environment variables). */
const configOptions = {
  admin_username: {
    env: 'BILBYCAST_ADMIN_USERNAME',
    schema: Joi.string().min(1).max(64),
    meaning: 'With admin_password: create this SuperAdmin at start when no user exists yet.',
    with: 'admin_password'
  },
  admin_password: {
    env: 'BILBYCAST_ADMIN_PASSWORD',
    schema: Joi.string().min(1).max(128),
    meaning: 'Password of the bootstrap SuperAdmin (must meet the password policy).',
    with: 'admin_username',
    secret: true
  }
} satisfies Record<string, PluginConfigOption>;

/**
 * The users plugin: owns the `users` table, serves the `/api/v1/users` API, provides the
 * `accounts` service, and creates the first SuperAdmin from its `admin_username` /
 * `admin_password` options when no user exists.
 */
export const plugin: Plugin<Record<string, never>> & { cli: CliContribution; configOptions: Record<string, PluginConfigOption> } = {
  name: pkg.name,
  version: pkg.version,
  cli: usersCli,
  configOptions,
  register(server) {
    const { manager } = server;
    manager.migrations.add('users', usersMigrations);
    manager.backupTables.declare('users', { durable: ['users', 'user_password_history'] });
    const accounts = new Accounts(manager.db);
    manager.services.provide('accounts', accounts);
    const directory = new UserDirectory(manager.db, manager.audit);
    server.bind({ directory } satisfies UsersRouteContext);
    server.route([...userRoutes, ...userCredentialRoutes]);

    server.ext('onPreStart', async () => {
      const { admin_username: username, admin_password: password } = manager.config.plugin_options as { admin_username?: string; admin_password?: string };
      if (!username || !password || (await accounts.countUsers()) > 0) return;
      try {
        await accounts.createSuperAdmin({ username, password });
      } catch (err) {
        if (err instanceof AccountError) throw new ConfigError(`BILBYCAST_ADMIN_USERNAME/PASSWORD: ${err.message}`);
        throw err;
      }
      manager.logger.info({ username }, 'created the bootstrap SuperAdmin from the environment');
    });
  }
};

export default plugin;
