import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { nowIso, parseJsonColumn } from '../database/column-conventions';
import type { Migration } from '../database/migrations';

export const AUDIT_TABLE = 'audit_log';

/** One audited action. `details` holds changed field names and values, never secrets. */
export interface AuditEntry {
  action: string;
  user_id?: string | null;
  username?: string | null;
  target_type?: string | null;
  target_id?: string | null;
  ip?: string | null;
  outcome?: 'success' | 'failure';
  details?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'details'>> {
  /** Increasing with insertion order. */
  id: number;
  details: Record<string, unknown>;
  created_at: string;
}

export interface AuditQuery {
  user_id?: string;
  action?: string;
  from?: string;
  to?: string;
  page: number;
  per_page: number;
  /** Only entries about these nodes or by this user (a caller limited to some nodes). */
  scope?: { user_id: string; node_ids: string[] };
}

/** Keys whose values are never written to the audit log, however a caller nests them. */
const SECRET_KEY = /pass(word)?|secret|token|code|hash|key/i;

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : scrub(v)]));
  }
  return value;
}

/**
 * The append-only audit log every plugin writes through. There is no update or delete:
 * rows only leave through retention, which is not part of this service.
 */
export class AuditLog {
  constructor(
    private readonly db: Knex,
    private readonly logger: Logger
  ) {}

  async record(entry: AuditEntry, trx?: Knex.Transaction): Promise<void> {
    const row = {
      action: entry.action,
      user_id: entry.user_id ?? null,
      username: entry.username ?? null,
      target_type: entry.target_type ?? null,
      target_id: entry.target_id ?? null,
      ip: entry.ip ?? null,
      outcome: entry.outcome ?? 'success',
      details: JSON.stringify(scrub(entry.details ?? {})),
      created_at: nowIso()
    };
    try {
      await (trx ?? this.db)(AUDIT_TABLE).insert(row);
    } catch (err) {
      // An audit failure is loud in the logs but does not undo what was already done.
      this.logger.error({ err, action: entry.action }, 'could not write audit record');
      if (trx) throw err;
    }
  }

  async query(filters: AuditQuery): Promise<{ total: number; records: AuditRecord[] }> {
    const base = this.db(AUDIT_TABLE).where((q) => {
      // A caller limited to some nodes sees what was done to those nodes, and what they did.
      const scope = filters.scope;
      if (scope) {
        q.where((s) => {
          void s.where('user_id', scope.user_id);
          if (scope.node_ids.length > 0) void s.orWhere((n) => void n.where('target_type', 'node').whereIn('target_id', scope.node_ids));
        });
      }
      if (filters.user_id) q.where('user_id', filters.user_id);
      if (filters.action) q.where('action', filters.action);
      if (filters.from) q.where('created_at', '>=', filters.from);
      if (filters.to) q.where('created_at', '<=', filters.to);
    });
    const [{ n }] = await base.clone().count({ n: '*' });
    const rows = await base
      .clone()
      .orderBy('id', 'desc')
      .limit(filters.per_page)
      .offset((filters.page - 1) * filters.per_page);
    return {
      total: Number(n),
      records: rows.map((row: Record<string, unknown>) => ({
        ...(row as unknown as AuditRecord),
        id: Number(row.id),
        details: parseJsonColumn<Record<string, unknown>>(row.details, {})
      }))
    };
  }
}

export const auditMigration: Migration = {
  name: '002_audit_log',
  async up(db) {
    await db.schema.createTable(AUDIT_TABLE, (table) => {
      table.bigIncrements('id').primary();
      table.string('action', 64).notNullable();
      table.string('user_id', 36).nullable();
      table.string('username', 64).nullable();
      table.string('target_type', 32).nullable();
      table.string('target_id', 64).nullable();
      table.string('ip', 64).nullable();
      table.string('outcome', 16).notNullable();
      table.text('details').notNullable();
      table.string('created_at', 24).notNullable();
      table.index(['created_at']);
      table.index(['user_id', 'created_at']);
      table.index(['action', 'created_at']);
    });
  },
  async down(db) {
    await db.schema.dropTable(AUDIT_TABLE);
  }
};
