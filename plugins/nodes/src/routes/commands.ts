import { apiError, callerOf, fieldErrors, roleAtLeast, type AuditLog, type Role } from '@bilbycast/core';
import type { CommandDefinition } from '@bilbycast/driver-sdk';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { CommandDeliveryError, CommandRefusedError, type CommandOutcome } from '../services/command-errors';
import type { NodeRow } from '../services/node-view';
import { admin, auditNode, noQuery, nodeIdParams, operator, visibleNode } from './node-access';
import { contextOf } from './route-context';

/** Largest command body accepted (an edge `update_config` with many flows stays far below). */
export const COMMAND_MAX_BYTES = 1024 * 1024;
/** How long GET /nodes/{id}/config waits for a live `config_response`. */
const CONFIG_TIMEOUT_MS = 15_000;
const ROTATE_TIMEOUT_MS = 15_000;

/** Device-unreachable, timeout and refusal conditions as HTTP errors. */
function deliveryError(err: unknown): never {
  if (err instanceof CommandRefusedError) throw apiError(err.status, err.code, err.message, err.details);
  if (err instanceof CommandDeliveryError) {
    const status = err.code === 'node_offline' ? 502 : err.code === 'command_timeout' ? 504 : 409;
    throw apiError(status, err.code, err.message);
  }
  throw err;
}

/** The device's answer: 200 on success, 422 with the device's own error text and code otherwise. */
function commandResponse(h: ResponseToolkit, outcome: CommandOutcome) {
  if (outcome.success) return h.response({ command_id: outcome.command_id, success: true, data: outcome.data ?? null });
  return h
    .response({
      statusCode: 422,
      command_id: outcome.command_id,
      success: false,
      error: outcome.error,
      message: outcome.error,
      error_code: outcome.error_code ?? 'device_error',
      details: outcome.details ?? null
    })
    .code(422);
}

/** Operator at least; admin when the driver says so, and always for rotating a node's secret. */
function requiredRole(command: CommandDefinition): Role {
  return command.requires_role === 'admin' || command.name === 'rotate_secret' ? 'admin' : 'operator';
}

/** Audits a command sent to a node, with its result (`success`, `device_error` or the delivery error code). */
function auditCommand(audit: AuditLog, request: Request, nodeId: string, type: string, outcome: string, extra: Record<string, unknown> = {}) {
  return auditNode(audit, request, {
    action: 'node.command',
    node_id: nodeId,
    outcome: outcome === 'success' ? 'success' : 'failure',
    details: { type, result: outcome, ...extra }
  });
}

/** Rotates the node's secret and audits the outcome. */
async function rotate(request: Request, h: ResponseToolkit, row: NodeRow, timeoutMs: number) {
  const { nodes, audit } = contextOf(h);
  const nodeId = row.id;
  try {
    const outcome = await nodes.commands.rotateSecret(row, timeoutMs);
    await auditCommand(audit, request, nodeId, 'rotate_secret', outcome.success ? 'success' : 'device_error', { command_id: outcome.command_id });
    return commandResponse(h, outcome);
  } catch (err) {
    if (err instanceof CommandDeliveryError || err instanceof CommandRefusedError) await auditCommand(audit, request, nodeId, 'rotate_secret', err.code);
    deliveryError(err);
  }
}

async function sendCommand(request: Request, h: ResponseToolkit) {
  const { directory, nodes, drivers, audit } = contextOf(h);
  const { commands } = nodes;
  const row = await visibleNode(request, directory);
  const { type, ...params } = (request.payload as { action: { type: string } & Record<string, unknown> }).action;
  const driver = drivers.get(row.device_type)?.definition;
  if (!driver) throw apiError(409, 'driver_unavailable', `No driver for device type ${row.device_type} is loaded`);
  const command = driver.commands.find((c) => c.name === type);
  if (!command) {
    throw apiError(400, 'unknown_command', `${driver.display_name} has no command "${type}"`, { commands: driver.commands.map((c) => c.name) });
  }
  const required = requiredRole(command);
  if (!roleAtLeast(callerOf(request).role, required)) {
    throw apiError(403, 'insufficient_role', `${type} requires the ${required} role`, { required_role: required });
  }
  if (type === 'rotate_secret') {
    // The manager chooses node secrets: it must know the new one to accept it.
    if (Object.keys(params).length > 0) {
      throw apiError(400, 'validation_error', 'rotate_secret takes no parameters: the manager generates the new secret', {
        errors: Object.keys(params).map((path) => ({ path, message: `"${path}" is not allowed`, type: 'object.unknown' }))
      });
    }
    return rotate(request, h, row, command.timeout_ms);
  }
  const validated = command.params.validate(params, { abortEarly: false }) as Joi.ValidationResult<Record<string, unknown>>;
  if (validated.error) {
    const errors = fieldErrors(validated.error);
    throw apiError(400, 'validation_error', errors.map((e) => e.message).join('; '), { source: 'action', errors });
  }
  try {
    if (type === 'get_config') {
      const { config } = await commands.requestConfig(row.id, command.timeout_ms, true);
      await auditCommand(audit, request, row.id, type, 'success');
      return h.response({ command_id: null, success: true, data: config });
    }
    const prepared = commands.prepare(row, command, validated.value);
    // The type last: a driver's schema cannot turn one command into another.
    const outcome = await commands.send(row.id, { ...prepared, type }, command.timeout_ms, command.mutates);
    await auditCommand(audit, request, row.id, type, outcome.success ? 'success' : 'device_error', {
      command_id: outcome.command_id,
      error_code: outcome.error_code
    });
    return commandResponse(h, outcome);
  } catch (err) {
    if (err instanceof CommandDeliveryError || err instanceof CommandRefusedError) await auditCommand(audit, request, row.id, type, err.code);
    deliveryError(err);
  }
}

async function getNodeConfig(request: Request, h: ResponseToolkit) {
  const { directory, nodes } = contextOf(h);
  const row = await visibleNode(request, directory);
  try {
    return { node_id: row.id, ...(await nodes.commands.requestConfig(row.id, CONFIG_TIMEOUT_MS, (request.query as { refresh: boolean }).refresh)) };
  } catch (err) {
    deliveryError(err);
  }
}

async function rotateNodeSecret(request: Request, h: ResponseToolkit) {
  const { directory, drivers } = contextOf(h);
  const row = await visibleNode(request, directory);
  const driver = drivers.get(row.device_type)?.definition;
  const command = driver?.commands.find((c) => c.name === 'rotate_secret');
  if (!command) throw apiError(400, 'unknown_command', `${driver?.display_name ?? row.device_type} does not support secret rotation`);
  return rotate(request, h, row, command.timeout_ms ?? ROTATE_TIMEOUT_MS);
}

/** Commands, the node config and secret rotation. */
export const commandRoutes: ServerRoute[] = [
  {
    method: 'POST',
    path: '/api/v1/nodes/{id}/command',
    options: {
      tags: ['api', 'nodes'],
      description: 'Send a command to a node and wait for its answer (operator, or the role the driver requires)',
      plugins: operator,
      payload: { maxBytes: COMMAND_MAX_BYTES },
      validate: {
        query: noQuery,
        params: nodeIdParams,
        payload: Joi.object({
          action: Joi.object({
            type: Joi.string()
              .pattern(/^[a-z][a-z0-9_]{0,63}$/)
              .required()
          })
            .unknown(true)
            .required()
        }).required()
      },
      handler: sendCommand
    }
  },
  {
    method: 'GET',
    path: '/api/v1/nodes/{id}/config',
    options: {
      tags: ['api', 'nodes'],
      description: 'The node’s own configuration: cached, or fetched live with ?refresh=true (operator)',
      plugins: operator,
      validate: { query: Joi.object({ refresh: Joi.boolean().default(false) }), params: nodeIdParams },
      handler: getNodeConfig
    }
  },
  {
    method: 'POST',
    path: '/api/v1/nodes/{id}/rotate-secret',
    options: {
      tags: ['api', 'nodes'],
      description: 'Give the connected node a new secret; its previous one keeps working until it signs in with the new one (admin)',
      plugins: admin,
      validate: { query: noQuery, params: nodeIdParams },
      handler: rotateNodeSecret
    }
  }
];
