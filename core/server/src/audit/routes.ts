import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { callerOf } from '../access/enforcement';
import type { AuditLog } from './audit-log';

const isoTime = Joi.string().isoDate();

const isoOrUndefined = (v?: string) => (v ? new Date(v).toISOString() : undefined);

async function readAuditLog(request: Request, h: ResponseToolkit) {
  const query = request.query as unknown as Parameters<AuditLog['query']>[0];
  const caller = callerOf(request);
  const scope = caller.allowed_node_ids === null ? undefined : { user_id: caller.user.id, node_ids: caller.allowed_node_ids };
  const { total, records } = await request.server.manager.audit.query({ ...query, from: isoOrUndefined(query.from), to: isoOrUndefined(query.to), scope });
  return h.response({ records, total, page: query.page, per_page: query.per_page }).header('X-Total-Count', String(total));
}

/**
 * `GET /api/v1/audit` (Admin+): newest first, paginated, filtered by user, action and time. An
 * admin limited to some nodes sees only entries about those nodes and their own actions.
 */
export const auditRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/audit',
    options: {
      tags: ['api', 'audit'],
      description: 'Read the audit log (admin; an admin limited to some nodes sees entries about them and their own actions)',
      plugins: { bilbycast: { access: { role: 'admin' } } },
      validate: {
        query: Joi.object({
          user_id: Joi.string().max(36),
          action: Joi.string().max(64),
          from: isoTime,
          to: isoTime,
          page: Joi.number().integer().min(1).max(1_000_000).default(1),
          per_page: Joi.number().integer().min(1).max(200).default(50)
        })
      },
      handler: readAuditLog
    }
  }
];
