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
export {
  REDACTED,
  NO_SECRETS,
  redactSecrets,
  restoreSecrets,
  findRedacted,
  type ConfigSecrets,
  type RedactedConfig,
  type RestoredConfig
} from './config-secrets';

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
  /**
   * The parameter that carries a whole device configuration as `get_config` returns it (e.g.
   * `config` of an edge's `update_config`). Secrets the manager redacted from the config it
   * showed (see `config_secrets`) are put back into it before the command is sent.
   */
  config_param?: string;
}

export const DEVICE_HEALTHS = ['healthy', 'warning', 'critical'] as const;
export type DeviceHealth = (typeof DEVICE_HEALTHS)[number];
export const EVENT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type EventSeverity = (typeof EVENT_SEVERITIES)[number];

/** Sections of the node page a device type supports (the UI shows only these). */
export const UI_SECTIONS = ['flows', 'tunnels', 'edges', 'inputs', 'outputs', 'alarms', 'config', 'ptp', 'resources', 'events'] as const;
export type UiSection = (typeof UI_SECTIONS)[number];

/** Headline numbers for dashboards and charts, computed from the device's latest stats. */
export interface DeviceSummary {
  flows_active?: number;
  flows_total?: number;
  tunnels_active?: number;
  tunnels_total?: number;
  bitrate_bps?: number;
  uptime_secs?: number;
  /** Further named values a device type wants charted (e.g. connected_edges). */
  metrics: Record<string, number>;
}

/**
 * What a driver's `refuseCommand` hook sees of a node before a command is sent to it. Times
 * are the manager's: `*_at_ms` say when the last health and stats payloads arrived.
 */
export interface CommandCheckInput {
  /** The command's `type`. */
  command: string;
  /** When the node last registered with a token (ISO 8601), or null if unknown. */
  registered_at: string | null;
  /** When the current session signed in (ISO 8601). */
  connected_at: string;
  /** A secret rotation was sent and the node has not yet signed in with the new secret. */
  secret_rotation_pending: boolean;
  now_ms: number;
  health: unknown;
  health_at_ms: number | null;
  stats: unknown;
  stats_at_ms: number | null;
}

/** Why a command must not be sent now: answered to the caller as 409 with this `error_code`. */
export interface CommandRefusal {
  error_code: string;
  message: string;
}

/** What health derivation sees: the last health and stats payloads and the unacknowledged alarms. */
export interface HealthInput {
  health: unknown;
  stats: unknown;
  active_alarms: { severity: EventSeverity; raw_severity: string; category: string }[];
}

export interface DriverDefinition {
  /** The `device_type` devices of this kind report when they connect, e.g. `edge`. */
  device_type: string;
  display_name: string;
  commands: CommandDefinition[];
  /** Summary metrics from a stats payload; must accept any input without throwing (default: none). */
  summarize?(stats: unknown): DeviceSummary;
  /** healthy | warning | critical (default: `defaultDeriveHealth`). */
  deriveHealth?(input: HealthInput): DeviceHealth;
  /** Maps the device's own severity word to the manager's (default: `defaultEventSeverity`). */
  mapEventSeverity?(raw: string): EventSeverity;
  /** Node-page sections this device type supports (default: config and events). */
  ui_sections?: UiSection[];
  /** A short description of the device's protocol and commands for the AI assistant. */
  ai_protocol?: string;
  /** How topology views draw it. */
  topology?: { icon: string; color: string };
  /**
   * Where secrets sit in the device's configuration (as `get_config` returns it): dot paths
   * where `*` matches any one key or array index and `**` any number of levels, e.g.
   * `distribution.token_secret` or `**.passphrase`. The manager replaces their values with
   * `REDACTED` in every config it caches or shows, and restores them in a command's
   * `config_param`.
   */
  config_secrets?: string[];
  /**
   * Refuses a command the device must not receive in its current state (e.g. one that would
   * make it persist a broken configuration): a refusal, or null to send it. Must not throw.
   */
  refuseCommand?(input: CommandCheckInput): CommandRefusal | null;
}

/**
 * Severity words devices use, mapped to the manager's three levels. Unknown words are info,
 * as PROTOCOL.md §11.1 (plugins/nodes) describes (the raw word is always kept beside the mapped one).
 */
export function defaultEventSeverity(raw: string): EventSeverity {
  const word = String(raw).toLowerCase();
  if (['critical', 'major', 'error', 'fatal', 'emergency', 'alert'].includes(word)) return 'critical';
  if (['warning', 'warn', 'minor', 'degraded'].includes(word)) return 'warning';
  return 'info';
}

/** Control characters (C0, DEL and C1): never part of a device resource id. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/**
 * An id a device gives a flow, input, output or similar resource, as bilbycast devices
 * validate them: 1 to `maxBytes` bytes of UTF-8 with no control characters — spaces, slashes
 * and non-ASCII letters allowed (`Studio feed 2`, `Ü-Wagen`). Not trimmed: the device's id is
 * used exactly as it is.
 */
export function resourceId(maxBytes = 64): Joi.StringSchema {
  return Joi.string()
    .min(1)
    .max(maxBytes, 'utf8')
    .pattern(CONTROL_CHARACTERS, 'no control characters')
    .messages({
      'string.max': `{{#label}} must be at most ${maxBytes} bytes of UTF-8`,
      'string.pattern.name': '{{#label}} must not contain control characters'
    });
}

/** Critical with any critical alarm, warning with any warning alarm or a non-"ok" health status. */
export function defaultDeriveHealth(input: HealthInput): DeviceHealth {
  if (input.active_alarms.some((a) => a.severity === 'critical')) return 'critical';
  const status = (input.health as { status?: unknown } | null)?.status;
  if (status === 'critical') return 'critical';
  if (input.active_alarms.some((a) => a.severity === 'warning')) return 'warning';
  if (typeof status === 'string' && status !== 'ok') return 'warning';
  return 'healthy';
}

const commandSchema = Joi.object({
  name: Joi.string()
    .pattern(/^[a-z][a-z0-9_]{0,63}$/)
    .required(),
  description: Joi.string().min(1).max(500).required(),
  requires_role: Joi.string()
    .valid(...COMMAND_ROLES)
    .required(),
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
  mutates: Joi.boolean().required(),
  config_param: Joi.string().pattern(/^[a-z][a-z0-9_]{0,63}$/)
});

/** A `config_secrets` path: dot-separated keys, `*` (one level) or `**` (any number of levels). */
const secretPathSchema = Joi.string()
  .max(512)
  .pattern(/^(?:\*\*|\*|[^.*]+)(?:\.(?:\*\*|\*|[^.*]+))*$/, 'secret path')
  .pattern(/(?:^|\.)\*\*\.\*\*(?:\.|$)/, { name: 'no repeated **', invert: true });

/** The shape the manager checks a driver export against when it loads it. */
export const driverDefinitionSchema = Joi.object({
  device_type: Joi.string()
    .pattern(/^[a-z][a-z0-9_]{0,63}$/)
    .required(),
  display_name: Joi.string().min(1).max(100).required(),
  commands: Joi.array().items(commandSchema).unique('name').required(),
  summarize: Joi.function().maxArity(1),
  deriveHealth: Joi.function().maxArity(1),
  mapEventSeverity: Joi.function().maxArity(1),
  ui_sections: Joi.array()
    .items(Joi.string().valid(...UI_SECTIONS))
    .unique(),
  ai_protocol: Joi.string().max(20_000),
  topology: Joi.object({
    icon: Joi.string()
      .pattern(/^[a-z0-9-]{1,40}$/)
      .required(),
    color: Joi.string()
      .pattern(/^#[0-9a-fA-F]{6}$/)
      .required()
  }),
  config_secrets: Joi.array().items(secretPathSchema).max(200).unique(),
  refuseCommand: Joi.function().maxArity(1)
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
