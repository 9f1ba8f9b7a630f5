import type { Command } from 'commander';
import { commandConfig, withInitializedManager } from '../command-context';
import { CommandFailed, type CliManifest } from '../program';
import { promptSecret, promptText } from '../prompt';
import { accountsService } from './user';

/** `setup`: create the first SuperAdmin; does nothing when any user exists. */
export function registerSetupCommand(program: Command, manifest: CliManifest): void {
  program
    .command('setup')
    .description('create the database and the first SuperAdmin (does nothing if a user exists)')
    .option('--username <name>', 'SuperAdmin username (prompted for when omitted)')
    .option('--password <password>', 'password (prompted for, hidden, when omitted; or piped on stdin)')
    .option('--display-name <name>', 'display name')
    .option('--email <email>', 'email address')
    .action(async (opts: { username?: string; password?: string; displayName?: string; email?: string }) => {
      const config = commandConfig(program.opts(), true);
      await withInitializedManager(manifest, config, async (manager) => {
        const accounts = accountsService(manager);
        const existing = await accounts.countUsers();
        if (existing > 0) {
          console.log(`The database already has ${existing} user(s); setup changed nothing.`);
          return;
        }
        const username = opts.username ?? (await promptText('SuperAdmin username'));
        const password = opts.password ?? (await promptSecret('Password', true));
        const problems = accounts.passwordProblems(password);
        if (problems.length > 0) throw new CommandFailed(`password rejected: ${problems.join('; ')}`);
        await accounts.createSuperAdmin({ username, password, display_name: opts.displayName, email: opts.email });
        console.log(`Created SuperAdmin "${username}".`);
      });
    });
}
