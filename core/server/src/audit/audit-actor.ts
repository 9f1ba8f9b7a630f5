import type { Request } from '@hapi/hapi';
import { callerOf } from '../access/enforcement';
import type { AuditEntry } from './audit-log';

/** Who did what a route audits: the signed-in caller and the address they came from. */
export function auditActor(request: Request): Required<Pick<AuditEntry, 'user_id' | 'username' | 'ip'>> {
  const caller = callerOf(request);
  return { user_id: caller.user.id, username: caller.user.username, ip: request.clientIp };
}
