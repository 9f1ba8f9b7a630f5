import { apiError, callerOf, isoDate } from '@bilbycast/core';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import type { NodeDirectory } from '../services/node-directory';
import { NODE_STATUSES } from '../services/node-view';
import { HISTORY_FIELDS } from '../services/stats-history';
import { admin, auditNode, noQuery, nodeIdParams, nodeNotFound, viewer, visibleNode } from './node-access';
import { contextOf } from './route-context';

/** No control characters, unpaired surrogates or line/paragraph separators. */
const PRINTABLE = /^[^\p{Cc}\p{Cs}\p{Zl}\p{Zp}]*$/u;
/** Descriptions may also hold line breaks and tabs. */
const PRINTABLE_MULTILINE = /^(?:[\t\n\r]|[^\p{Cc}\p{Cs}\p{Zl}\p{Zp}])*$/u;

const fields = {
  name: Joi.string().trim().min(1).max(128).pattern(PRINTABLE, 'printable'),
  description: Joi.string().max(512).pattern(PRINTABLE_MULTILINE, 'printable').allow('', null),
  expires_at: isoDate().greater('now').max('9999-12-31T23:59:59.999Z').allow(null).messages({ 'date.greater': '"expires_at" must be in the future' }),
  metadata: Joi.object()
    .unknown(true)
    .custom((value: object, helpers) => (JSON.stringify(value).length > 16_384 ? helpers.error('object.tooLarge') : value))
    .messages({ 'object.tooLarge': '"metadata" must be at most 16 KB of JSON' })
};

const toIso = (date: Date | null | undefined) => (date === undefined ? undefined : date && date.toISOString());

async function listNodes(request: Request, h: ResponseToolkit) {
  const { directory, nodes } = contextOf(h);
  const rows = await directory.list(request.query, callerOf(request));
  return rows.map((row) => nodes.view(row));
}

async function createNode(request: Request, h: ResponseToolkit) {
  const { directory, nodes, drivers, audit } = contextOf(h);
  const input = request.payload as {
    name: string;
    description?: string | null;
    device_type: string;
    expires_at?: Date | null;
    metadata?: Record<string, unknown>;
  };
  if (!drivers.get(input.device_type)) {
    throw apiError(400, 'unknown_device_type', `unknown device type: ${input.device_type}`, {
      device_types: drivers.list().map((d) => d.definition.device_type)
    });
  }
  const { row, registration_token } = await directory.create({
    ...input,
    description: input.description || null,
    expires_at: toIso(input.expires_at) ?? null
  });
  await auditNode(audit, request, { action: 'node.create', node_id: row.id, details: { name: row.name, device_type: row.device_type } });
  nodes.publishStatus(row);
  return h.response({ ...nodes.view(row), registration_token }).created(`/api/v1/nodes/${row.id}`);
}

async function getNode(request: Request, h: ResponseToolkit) {
  const { directory, nodes } = contextOf(h);
  const row = await visibleNode(request, directory);
  return { ...nodes.view(row), connection: nodes.connection(row.id) };
}

async function updateNode(request: Request, h: ResponseToolkit) {
  const { directory, nodes, audit } = contextOf(h);
  const row = await visibleNode(request, directory);
  const input = request.payload as { name?: string; description?: string | null; expires_at?: Date | null; metadata?: Record<string, unknown> };
  const patch: Parameters<NodeDirectory['update']>[1] = {};
  if (input.name !== undefined) patch.name = input.name;
  if (input.description !== undefined) patch.description = input.description || null;
  if (input.expires_at !== undefined) patch.expires_at = toIso(input.expires_at);
  if (input.metadata !== undefined) patch.metadata = JSON.stringify(input.metadata);
  await directory.update(row.id, patch);
  if (patch.expires_at !== undefined) nodes.setExpiry(row.id, patch.expires_at);
  await auditNode(audit, request, { action: 'node.update', node_id: row.id, details: { fields: Object.keys(patch) } });
  const updated = await directory.get(row.id);
  // Deleted by someone else meanwhile.
  if (!updated) throw nodeNotFound();
  nodes.publishStatus(updated);
  return nodes.view(updated);
}

async function deleteNode(request: Request, h: ResponseToolkit) {
  const { directory, nodes, audit } = contextOf(h);
  const row = await visibleNode(request, directory);
  nodes.disconnect(row.id, 'Node deleted');
  await directory.remove(row.id);
  // Gone whatever happens to the audit entry: memory is freed and browsers are told at once.
  nodes.removed(row.id);
  await auditNode(audit, request, { action: 'node.delete', node_id: row.id, details: { name: row.name, device_type: row.device_type } });
  return h.response().code(204);
}

async function issueRegistrationToken(request: Request, h: ResponseToolkit) {
  const { directory, nodes, audit } = contextOf(h);
  const row = await visibleNode(request, directory);
  const issued = await directory.issueToken(row.id);
  nodes.disconnect(row.id, 'Registration token regenerated');
  // The one node_status of a re-token (the silent close publishes none), whatever happens to the audit entry.
  await nodes.publishStatusOf(row.id);
  await auditNode(audit, request, { action: 'node.token', node_id: row.id, details: { name: row.name } });
  return { node_id: row.id, ...issued };
}

async function getNodeStats(request: Request, h: ResponseToolkit) {
  const { directory, nodes } = contextOf(h);
  const row = await visibleNode(request, directory);
  return { node_id: row.id, ...nodes.liveStats(row.id) };
}

async function getStatsHistory(request: Request, h: ResponseToolkit) {
  const { directory, nodes, historyIntervalMs } = contextOf(h);
  const row = await visibleNode(request, directory);
  const since = (request.query as { since?: Date }).since;
  return {
    node_id: row.id,
    interval_secs: historyIntervalMs / 1000,
    fields: HISTORY_FIELDS,
    points: nodes.history(row.id, since?.getTime() ?? 0)
  };
}

async function getThumbnail(request: Request, h: ResponseToolkit) {
  const { directory, nodes } = contextOf(h);
  const row = await visibleNode(request, directory);
  const { flow_id } = request.params as { flow_id: string };
  const { input_id } = request.query as { input_id?: string };
  const thumbnail = nodes.thumbnail(row.id, flow_id, input_id ?? null);
  if (!thumbnail) throw apiError(404, 'thumbnail_not_found', 'No thumbnail for this flow');
  return h
    .response(Buffer.from(thumbnail.data, 'base64'))
    .type('image/jpeg')
    .header('Cache-Control', 'no-store')
    .header('Last-Modified', new Date(thumbnail.at).toUTCString());
}

/** `/api/v1/nodes`: the node records (admin writes, scoped reads) and their live stats. */
export const nodeRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/nodes',
    options: {
      tags: ['api', 'nodes'],
      description: 'List the nodes the caller may see, by name',
      plugins: viewer,
      validate: {
        query: Joi.object({
          device_type: Joi.string().max(64),
          status: Joi.string().valid(...NODE_STATUSES),
          q: Joi.string().max(128)
        })
      },
      handler: listNodes
    }
  },
  {
    method: 'POST',
    path: '/api/v1/nodes',
    options: {
      tags: ['api', 'nodes'],
      description: 'Add a node; the answer carries its single-use registration token, shown only this once (admin)',
      plugins: admin,
      validate: {
        query: noQuery,
        payload: Joi.object({
          name: fields.name.required(),
          description: fields.description,
          device_type: Joi.string().max(64).default('edge'),
          expires_at: fields.expires_at,
          metadata: fields.metadata
        }).required()
      },
      handler: createNode
    }
  },
  {
    method: 'GET',
    path: '/api/v1/nodes/{id}',
    options: {
      tags: ['api', 'nodes'],
      description: 'Read a node, with its live connection details when online',
      plugins: viewer,
      validate: { query: noQuery, params: nodeIdParams },
      handler: getNode
    }
  },
  {
    method: 'PUT',
    path: '/api/v1/nodes/{id}',
    options: {
      tags: ['api', 'nodes'],
      description: 'Change a node’s name, description, expiry or metadata (admin)',
      plugins: admin,
      validate: {
        query: noQuery,
        params: nodeIdParams,
        payload: Joi.object({ name: fields.name, description: fields.description, expires_at: fields.expires_at, metadata: fields.metadata }).min(1).required()
      },
      handler: updateNode
    }
  },
  {
    method: 'DELETE',
    path: '/api/v1/nodes/{id}',
    options: {
      tags: ['api', 'nodes'],
      description: 'Delete a node: disconnects it and removes its events (admin)',
      plugins: admin,
      validate: { query: noQuery, params: nodeIdParams },
      handler: deleteNode
    }
  },
  {
    method: 'POST',
    path: '/api/v1/nodes/{id}/token',
    options: {
      tags: ['api', 'nodes'],
      description: 'Issue a new single-use registration token: revokes the node’s secret and disconnects it (admin)',
      plugins: admin,
      validate: { query: noQuery, params: nodeIdParams },
      handler: issueRegistrationToken
    }
  },
  {
    method: 'GET',
    path: '/api/v1/nodes/{id}/stats',
    options: {
      tags: ['api', 'nodes'],
      description: 'The node’s latest stats and health as it sent them (null while offline)',
      plugins: viewer,
      validate: { query: noQuery, params: nodeIdParams },
      handler: getNodeStats
    }
  },
  {
    method: 'GET',
    path: '/api/v1/nodes/{id}/stats/history',
    options: {
      tags: ['api', 'nodes'],
      description: 'Recent summary metrics of a node for charts, oldest first (kept in memory)',
      plugins: viewer,
      validate: { query: Joi.object({ since: isoDate() }), params: nodeIdParams },
      handler: getStatsHistory
    }
  },
  {
    method: 'GET',
    path: '/api/v1/nodes/{id}/thumbnails/{flow_id}',
    options: {
      tags: ['api', 'nodes'],
      description: 'The latest thumbnail (JPEG) the node sent for a flow, or one of its inputs',
      plugins: viewer,
      validate: {
        query: Joi.object({ input_id: Joi.string().max(256) }),
        params: Joi.object({ id: Joi.string().guid().lowercase().required(), flow_id: Joi.string().max(256).required() })
      },
      handler: getThumbnail
    }
  }
];
