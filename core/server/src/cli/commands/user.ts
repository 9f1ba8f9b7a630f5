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

/** `user reset-password <name>`: set a new password (the policy applies) and end the user's sessions and API tokens. */
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
        // Whoever held the old password may have sessions or tokens: a reset ends them.
        const revoked = await manager.context.services.get('sessions')?.revokeAllForUser(userId);
        console.log(`Password of "${username}" changed${revoked ? `; ${revoked.sessions} session(s) and ${revoked.api_tokens} API token(s) ended` : ''}.`);
      });
    });
}
