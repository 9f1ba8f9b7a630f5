import type { KnexClientInfo, Migration } from '@bilbycast/core';

/**
 * OIDC issuers and subjects are case-sensitive strings: on MariaDB/MySQL their columns compare
 * in binary, not in the database's case-insensitive collation (`abc` and `ABC` are two
 * identities). SQLite already compares them exactly.
 */
export const oidcSubjectCase: Migration = {
  name: '004_oidc_subject_case',
  async up(db) {
    if ((db.client as KnexClientInfo).config.client !== 'mysql2') return;
    await db.raw(
      'ALTER TABLE auth_oidc_identities MODIFY issuer VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ' +
        'MODIFY subject VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL'
    );
  },
  async down(db) {
    if ((db.client as KnexClientInfo).config.client !== 'mysql2') return;
    await db.raw('ALTER TABLE auth_oidc_identities MODIFY issuer VARCHAR(255) NOT NULL, MODIFY subject VARCHAR(255) NOT NULL');
  }
};
