import { CommandFailed, type CliContribution } from '@bilbycast/core';

/** The auth plugin's commands: `user reset-mfa <name>` removes a lost second factor, audited. */
export const authCli: CliContribution = (cli) => {
  cli
    .group('user', 'manage user accounts')
    .command('reset-mfa <username>')
    .description("remove a user's MFA (TOTP and recovery codes), for one who lost them; they sign in with their password alone")
    .action(async (username: string) => {
      await cli.withManager(async (manager) => {
        const user = await manager.context.services.get('accounts')?.byUsername(username);
        if (!user) throw new CommandFailed(`no user named "${username}"`);
        const mfa = manager.context.services.get('mfa');
        if (!mfa) throw new CommandFailed('the auth plugin is not loaded');
        if (!(await mfa.reset(user.id))) {
          console.log(`"${user.username}" has no MFA; nothing changed.`);
          return;
        }
        await manager.context.audit.record({
          action: 'user.mfa_reset',
          target_type: 'user',
          target_id: user.id,
          details: { username: user.username, source: 'cli' }
        });
        console.log(`MFA of "${user.username}" removed; they sign in with their password alone until they enrol again.`);
      });
    });
};
