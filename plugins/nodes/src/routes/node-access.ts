import { apiError, callerOf, canAccessNode } from '@bilbycast/core';
import type { Request } from '@hapi/hapi';
import Joi from 'joi';
import type { NodeDirectory } from '../services/node-directory';
import type { NodeRow } from '../services/node-view';

/** Route helpers every `/api/v1/nodes/{id}…` route shares. */
export const nodeIdParams = Joi.object({ id: Joi.string().guid().lowercase().required() });

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
