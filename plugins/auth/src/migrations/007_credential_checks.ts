import type { Migration } from '@bilbycast/core';

/**
 * - `auth_oidc_identities.source`: how an identity came to be linked — `user` (linked by the
 *   user through the provider), `admin`, `auto_create`, or `email_match` for every link made
 *   before this version, when a first SSO login was linked to the user with the same email
 *   (shown as such, so administrators can review them).
 * - `auth_mfa_challenges.password_check`: a digest of the password hash the password step was
 *   passed against; the code step signs in only while the password is still the same.
 */
export const credentialChecks: Migration = {
  name: '007_credential_checks',
  async up(db) {
    await db.schema.alterTable('auth_oidc_identities', (table) => {
      table.string('source', 16).notNullable().defaultTo('email_match');
    });
    await db.schema.alterTable('auth_mfa_challenges', (table) => {
      table.string('password_check', 64).nullable();
    });
  },
  async down(db) {
    await db.schema.alterTable('auth_mfa_challenges', (table) => {
      table.dropColumn('password_check');
    });
    await db.schema.alterTable('auth_oidc_identities', (table) => {
      table.dropColumn('source');
    });
  }
};
