import type { Request, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import parseJoi from 'joi-to-json';
import type { Logger } from 'pino';
import { callerOf } from '../access/enforcement';
import { roleAtLeast } from '../access/roles';
import { apiError } from '../http/errors';
import type { LoadedDriver } from './discovery';
import type { DriverRegistry } from './registry';

const hasKeys = (value: unknown) => typeof value === 'object' && value !== null && Object.keys(value).length > 0;

/**
 * joi's `.when(condition, { then: Joi.object().or('a', 'b') })` adds conditions to the base
 * object's own keys; joi-to-json renders such a `then` (or `else`) as an object with no
 * properties and `additionalProperties: false`, which in JSON Schema refuses every key — so a
 * form would refuse every valid value. Those branches keep only their conditions.
 */
function keepConditionsOnly(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(keepConditionsOnly);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, keepConditionsOnly(value)]));
  if (!('if' in out)) return out;
  for (const branch of ['then', 'else']) {
    const part = out[branch] as Record<string, unknown> | undefined;
    if (part && part.additionalProperties === false && !hasKeys(part.properties) && !hasKeys(part.patternProperties)) {
      const { additionalProperties: _closed, properties: _none, ...conditions } = part;
      out[branch] = conditions;
    }
  }
  return out;
}

/**
 * A device type as API clients and the UI see it: each command's parameters as JSON Schema
 * (draft-07, converted once from the driver's joi schema) so that forms render without
 * device-specific code.
 */
function deviceTypeView(driver: LoadedDriver, logger: Logger) {
  const { definition } = driver;
  return {
    device_type: definition.device_type,
    display_name: definition.display_name,
    package: driver.package,
    version: driver.version,
    ui_sections: definition.ui_sections ?? ['config', 'events'],
    topology: definition.topology ?? null,
    supported_commands: definition.commands.map((command) => {
      let params_schema: Record<string, unknown>;
      try {
        params_schema = keepConditionsOnly(parseJoi(command.params, 'json')) as Record<string, unknown>;
      } catch (err) {
        logger.warn({ err, device_type: definition.device_type, command: command.name }, 'command schema has no JSON Schema form');
        params_schema = { type: 'object' };
      }
      return {
        name: command.name,
        description: command.description,
        requires_role: command.requires_role,
        mutates: command.mutates,
        timeout_ms: command.timeout_ms,
        params_schema
      };
    })
  };
}

/** A device type as `GET /api/v1/device-types` answers it. */
export type DeviceTypeView = ReturnType<typeof deviceTypeView>;
/** One command of a device type, its parameters as JSON Schema. */
export type CommandView = DeviceTypeView['supported_commands'][number];

/** The views of each manager's drivers, kept here (not on the manager context) so that only these routes see them. */
const viewsByRegistry = new WeakMap<DriverRegistry, ReadonlyMap<string, DeviceTypeView>>();

/** Converts each loaded driver's device type as the API describes it, once, at start (conversion warnings are start-up log lines). */
export function prepareDeviceTypeViews(drivers: DriverRegistry, logger: Logger): void {
  viewsByRegistry.set(drivers, new Map(drivers.list().map((d) => [d.definition.device_type, deviceTypeView(d, logger)])));
}

function viewsOf(request: Request): ReadonlyMap<string, DeviceTypeView> {
  const views = viewsByRegistry.get(request.server.manager.drivers);
  if (!views) throw new Error('device-type views are prepared by createManager');
  return views;
}

function listDeviceTypes(request: Request) {
  const body: Record<string, unknown> = { device_types: [...viewsOf(request).values()] };
  const { drivers } = request.server.manager;
  if (roleAtLeast(callerOf(request).role, 'admin')) body.refused_drivers = drivers.refused;
  return body;
}

function readDeviceType(request: Request) {
  const view = viewsOf(request).get((request.params as { type: string }).type);
  if (!view) throw apiError(404, 'unknown_device_type', 'No driver for that device type');
  return view;
}

export const deviceTypeRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/device-types',
    options: {
      tags: ['api', 'drivers'],
      description: 'Device types with their commands and parameter schemas; admins also see refused drivers',
      plugins: { bilbycast: { access: 'authenticated' } },
      handler: listDeviceTypes
    }
  },
  {
    method: 'GET',
    path: '/api/v1/device-types/{type}',
    options: {
      tags: ['api', 'drivers'],
      description: 'One device type',
      plugins: { bilbycast: { access: 'authenticated' } },
      validate: { params: Joi.object({ type: Joi.string().max(64).required() }) },
      handler: readDeviceType
    }
  }
];
