import { apiError, auditActor, callerOf, canAccessNode, type AuditEntry, type AuditLog } from '@bilbycast/core';
import type { Request } from '@hapi/hapi';
import Joi from 'joi';
import type { NodeDirectory } from '../services/node-directory';
import type { NodeRow } from '../services/node-view';

/** Route helpers every `/api/v1/nodes…` route shares. */
export const nodeIdParams = Joi.object({ id: Joi.string().guid().lowercase().required() });
export const noQuery = Joi.object({});

/** Access rules (route `plugins`): any signed-in user (reads are node-scoped), operator, admin. */
export const viewer = { bilbycast: { access: 'authenticated' as const } };
export const operator = { bilbycast: { access: { role: 'operator' as const } } };
export const admin = { bilbycast: { access: { role: 'admin' as const } } };

export function nodeNotFound() {
  return apiError(404, 'node_not_found', 'Node not found');
}

/** The node if it exists and the caller may see it; otherwise the same 404 either way. */
export async function visibleNode(request: Request, directory: NodeDirectory): Promise<NodeRow> {
  const { id } = request.params as { id: string };
  if (!canAccessNode(callerOf(request), id)) throw nodeNotFound();
  const row = await directory.get(id);
  if (!row) throw nodeNotFound();
  return row;
}

/** Audits what the caller did to a node (the caller is the actor). */
export function auditNode(
  audit: AuditLog,
  request: Request,
  entry: Pick<AuditEntry, 'action' | 'outcome'> & { node_id: string; details: Record<string, unknown> }
): Promise<void> {
  const { node_id, ...rest } = entry;
  return audit.record({ ...auditActor(request), target_type: 'node', target_id: node_id, ...rest });
}
