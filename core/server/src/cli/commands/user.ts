import type { Command } from 'commander';
import type { Manager } from '../../manager';
import type { AccountAdministration } from '../../services';
import { commandConfig, withInitializedManager } from '../command-context';
import { CommandFailed, type CliManifest } from '../program';
import { promptSecret } from '../prompt';

export function accountsService(manager: Manager): AccountAdministration {
  const accounts = manager.context.services.get('accounts');
  if (!accounts) throw new CommandFailed('this build has no users plugin, so it has no accounts to manage');
  return accounts;
}

/**
 * `user reset-password <name>`: set a new password (the policy applies) and end the user's
 * sessions and API tokens. `user reset-mfa <name>`: remove a user's second factor, for one who
 * lost it. Both are audited as done from the command line.
 */
export function registerUserCommands(program: Command, manifest: CliManifest): void {
  const user = program.command('user').description('manage user accounts');
  user
    .command('reset-password <username>')
    .description("set a user's password (prompted for, hidden, when --password is omitted)")
    .option('--password <password>', 'the new password')
    .action(async (username: string, opts: { password?: string }) => {
      const config = commandConfig(program.opts(), true);
      await withInitializedManager(manifest, config, async (manager) => {
        const accounts = accountsService(manager);
        const password = opts.password ?? (await promptSecret('New password', true));
        const problems = accounts.passwordProblems(password);
        if (problems.length > 0) throw new CommandFailed(`password rejected: ${problems.join('; ')}`);
        const userId = await accounts.resetPassword(username, password);
        if (userId === null) throw new CommandFailed(`no user named "${username}"`);
        await manager.context.audit.record({ action: 'user.update', target_type: 'user', target_id: userId, details: { fields: ['password'], source: 'cli' } });
        // Whoever held the old password may have sessions or tokens: a reset ends them.
        const revoked = await manager.context.services.get('sessions')?.revokeAllForUser(userId);
        console.log(`Password of "${username}" changed${revoked ? `; ${revoked.sessions} session(s) and ${revoked.api_tokens} API token(s) ended` : ''}.`);
      });
    });
  user
    .command('reset-mfa <username>')
    .description("remove a user's MFA (TOTP and recovery codes), for one who lost them; they sign in with their password alone")
    .action(async (username: string) => {
      const config = commandConfig(program.opts(), true);
      await withInitializedManager(manifest, config, async (manager) => {
        const user = await accountsService(manager).findUser(username);
        if (user === null) throw new CommandFailed(`no user named "${username}"`);
        const mfa = manager.context.services.get('mfa');
        if (!mfa) throw new CommandFailed('this build has no sign-in plugin with MFA');
        if (!(await mfa.reset(user.id))) {
          console.log(`"${user.username}" has no MFA; nothing changed.`);
          return;
        }
        await manager.context.audit.record({ action: 'user.mfa_reset', target_type: 'user', target_id: user.id, details: { username: user.username, source: 'cli' } });
        console.log(`MFA of "${user.username}" removed; they sign in with their password alone until they enrol again.`);
      });
    });
}
