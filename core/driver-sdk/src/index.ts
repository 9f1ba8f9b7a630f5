/**
 * @bilbycast/driver-sdk — the contract a device driver package implements.
 *
 * A driver package declares itself in its package.json:
 *
 *   "bilbycast": { "driver": "./dist/index.js", "apiVersion": 1 }
 *
 * and its entry module exports (as `default`, `driver`, or the module itself) the object
 * returned by `defineDriver()`. The manager refuses a driver whose `apiVersion` it does not
 * support, or whose export does not validate against `driverDefinitionSchema`.
 *
 * This package depends on joi only: drivers must not need hapi or knex.
 */
import Joi from 'joi';

export { Joi };

/** The driver API version this SDK describes. Bumped on any incompatible contract change. */
export const DRIVER_API_VERSION = 1;

/** Driver API versions a manager built on this SDK can load. */
export const SUPPORTED_DRIVER_API_VERSIONS: readonly number[] = [1];

/** Roles a command may require, least privileged first. */
export const COMMAND_ROLES = ['viewer', 'operator', 'admin'] as const;
export type CommandRole = (typeof COMMAND_ROLES)[number];

export interface CommandDefinition {
  /** The command's `type` on the wire, e.g. `stop_flow`. */
  name: string;
  description: string;
  /** Minimum role needed to send it. */
  requires_role: CommandRole;
  /** Validates the command's parameters (everything in `action` except `type`). */
  params: Joi.ObjectSchema;
  /** How long the manager waits for the device's answer. */
  timeout_ms: number;
  /** Whether the command changes the device's state (audited and hidden from read-only users). */
  mutates: boolean;
}

export interface DriverDefinition {
  /** The `device_type` devices of this kind report when they connect, e.g. `edge`. */
  device_type: string;
  display_name: string;
  commands: CommandDefinition[];
}

const commandSchema = Joi.object({
  name: Joi.string().pattern(/^[a-z][a-z0-9_]{0,63}$/).required(),
  description: Joi.string().min(1).max(500).required(),
  requires_role: Joi.string().valid(...COMMAND_ROLES).required(),
  params: Joi.any()
    .custom((value, helpers) => {
      if (!Joi.isSchema(value) || value.type !== 'object') {
        return helpers.error('any.invalid');
      }
      return value;
    })
    .required()
    .messages({ 'any.invalid': '{{#label}} must be a joi object schema' }),
  timeout_ms: Joi.number().integer().min(100).max(600_000).required(),
  mutates: Joi.boolean().required()
});

/** The shape the manager checks a driver export against when it loads it. */
export const driverDefinitionSchema = Joi.object({
  device_type: Joi.string().pattern(/^[a-z][a-z0-9_]{0,63}$/).required(),
  display_name: Joi.string().min(1).max(100).required(),
  commands: Joi.array()
    .items(commandSchema)
    .unique((a, b) => a.name === b.name)
    .required()
}).required();

/**
 * Checks a value against the driver contract. Returns a readable reason when it does not
 * conform, or `null` when it does.
 */
export function describeDriverProblem(value: unknown): string | null {
  const { error } = driverDefinitionSchema.validate(value, { abortEarly: true, convert: false });
  return error ? error.message : null;
}

/** Identity helper that gives a driver author type checking of their definition. */
export function defineDriver(definition: DriverDefinition): DriverDefinition {
  return definition;
}
