import { CommandFailed, type CliContribution, type Manager } from '@bilbycast/core';
import type { AccountService } from './services/account-services';

function accounts(manager: Manager): AccountService {
  const service = manager.context.services.get('accounts');
  if (!service) throw new CommandFailed('the users plugin is not loaded');
  return service;
}

/**
 * The users plugin's commands: `setup` creates the first SuperAdmin (nothing when a user
 * exists); `user reset-password <name>` sets a new password (the policy applies), audited, and
 * ends the user's sessions and API tokens when the auth plugin is loaded.
 */
export const usersCli: CliContribution = (cli) => {
  cli.program
    .command('setup')
    .description('create the database and the first SuperAdmin (does nothing if a user exists)')
    .option('--username <name>', 'SuperAdmin username (prompted for when omitted)')
    .option('--password <password>', 'password (prompted for, hidden, when omitted; or piped on stdin)')
    .option('--display-name <name>', 'display name')
    .option('--email <email>', 'email address')
    .action(async (opts: { username?: string; password?: string; displayName?: string; email?: string }) => {
      await cli.withManager(async (manager) => {
        const users = accounts(manager);
        const existing = await users.countUsers();
        if (existing > 0) {
          console.log(`The database already has ${existing} user(s); setup changed nothing.`);
          return;
        }
        const username = opts.username ?? (await cli.promptText('SuperAdmin username'));
        const password = opts.password ?? (await cli.promptSecret('Password', true));
        const problems = users.passwordProblems(password);
        if (problems.length > 0) throw new CommandFailed(`password rejected: ${problems.join('; ')}`);
        await users.createSuperAdmin({ username, password, display_name: opts.displayName, email: opts.email });
        console.log(`Created SuperAdmin "${username}".`);
      });
    });

  cli
    .group('user', 'manage user accounts')
    .command('reset-password <username>')
    .description("set a user's password (prompted for, hidden, when --password is omitted)")
    .option('--password <password>', 'the new password')
    .action(async (username: string, opts: { password?: string }) => {
      await cli.withManager(async (manager) => {
        const users = accounts(manager);
        const password = opts.password ?? (await cli.promptSecret('New password', true));
        const problems = users.passwordProblems(password);
        if (problems.length > 0) throw new CommandFailed(`password rejected: ${problems.join('; ')}`);
        const user = await users.byUsername(username);
        if (!user) throw new CommandFailed(`no user named "${username}"`);
        await users.setPassword(user.id, password, { allowReuse: true });
        await manager.context.audit.record({
          action: 'user.update',
          target_type: 'user',
          target_id: user.id,
          details: { fields: ['password'], source: 'cli' }
        });
        // Whoever held the old password may have sessions or tokens: a reset ends them.
        const revoked = await manager.context.services.get('sessions')?.revokeAllForUser(user.id);
        console.log(`Password of "${username}" changed${revoked ? `; ${revoked.sessions} session(s) and ${revoked.api_tokens} API token(s) ended` : ''}.`);
      });
    });
};
