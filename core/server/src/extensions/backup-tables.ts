/**
 * What each plugin's tables mean to a backup: durable tables are backed up and restored (in
 * the order plugins declared them, which is their migration order, so referenced tables come
 * first); ephemeral ones (sessions, rate-limit counters, caches) are left out and emptied on
 * restore. Secret columns are found in the SecretColumnRegistry.
 */
export interface BackupDeclaration {
  durable: string[];
  ephemeral: string[];
}

export class BackupTableRegistry {
  readonly #owners = new Map<string, { owner: string; durable: boolean }>();

  declare(owner: string, tables: Partial<BackupDeclaration>): void {
    const entries = [...(tables.durable ?? []).map((t) => [t, true] as const), ...(tables.ephemeral ?? []).map((t) => [t, false] as const)];
    for (const [table, durable] of entries) {
      const known = this.#owners.get(table);
      if (known) throw new Error(`table "${table}" is already declared for backup by ${known.owner}`);
      this.#owners.set(table, { owner, durable });
    }
  }

  /** Durable tables, in restore order. */
  durable(): { table: string; owner: string }[] {
    return [...this.#owners].filter(([, e]) => e.durable).map(([table, e]) => ({ table, owner: e.owner }));
  }

  ephemeral(): { table: string; owner: string }[] {
    return [...this.#owners].filter(([, e]) => !e.durable).map(([table, e]) => ({ table, owner: e.owner }));
  }

  /** Whether a table has been declared at all (a backup refuses to run with undeclared tables). */
  has(table: string): boolean {
    return this.#owners.has(table);
  }
}
