import type { Knex } from 'knex';
import { SecretBox, type SecretLocation } from './secret-box';

/** A table column that holds values encrypted with the SecretBox. */
export interface SecretColumn {
  table: string;
  column: string;
  /** Primary-key column whose value is bound into each ciphertext (default `id`). */
  idColumn?: string;
}

/**
 * Every plugin registers its encrypted columns here, so that master-key rotation (and the
 * start-up key check) can find every secret without knowing the plugins.
 */
export class SecretColumnRegistry {
  readonly #columns = new Map<string, Required<SecretColumn>>();

  register(column: SecretColumn): void {
    const entry = { idColumn: 'id', ...column };
    this.#columns.set(`${entry.table}.${entry.column}`, entry);
  }

  list(): Required<SecretColumn>[] {
    return [...this.#columns.values()];
  }
}

export interface RotationReport {
  oldKeyId: string;
  newKeyId: string;
  /** Values re-encrypted, per `table.column`. */
  reencrypted: Record<string, number>;
}

/**
 * Re-encrypts every registered secret column from one master key to another inside a single
 * transaction: either every value moves to the new key, or none does.
 */
export async function reencryptSecrets(db: Knex, columns: Required<SecretColumn>[], from: SecretBox, to: SecretBox): Promise<RotationReport> {
  const reencrypted: Record<string, number> = {};
  await db.transaction(async (trx) => {
    for (const { table, column, idColumn } of columns) {
      const rows = (await trx(table).select(idColumn, column).whereNotNull(column)) as Record<string, unknown>[];
      for (const row of rows) {
        const where: SecretLocation = { table, column, rowId: row[idColumn] as string | number };
        const plaintext = from.decrypt(String(row[column]), where);
        await trx(table)
          .where(idColumn, row[idColumn] as string | number)
          .update({ [column]: to.encrypt(plaintext, where) });
      }
      reencrypted[`${table}.${column}`] = rows.length;
    }
  });
  return { oldKeyId: from.keyId, newKeyId: to.keyId, reencrypted };
}
