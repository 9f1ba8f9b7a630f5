/**
 * Commands the Appear X API gateway sidecar understands (PROTOCOL.md §12.4, product
 * behaviour §6.4). The sidecar translates each action into Appear X JSON-RPC calls on the
 * chassis; most act on one card and take an optional `slot` (default 1).
 *
 * Chassis structures vary by card family and firmware, so set_* payloads are free-form
 * objects; what the manager can check (slots, ids, keyed-entry shape) is validated.
 */
import { Joi, type CommandDefinition, type CommandRole } from '@bilbycast/driver-sdk';

/** Default answer budget: one JSON-RPC round trip through the sidecar. */
export const APPEAR_X_READ_TIMEOUT_MS = 15_000;
/** Writes can make the chassis re-apply a card configuration. */
export const APPEAR_X_WRITE_TIMEOUT_MS = 30_000;
/** License installation. */
export const APPEAR_X_LICENSE_TIMEOUT_MS = 60_000;
/** Sidecar self-upgrade: download and signature verification before the ack (PROTOCOL.md §8.3). */
export const APPEAR_X_UPGRADE_TIMEOUT_MS = 300_000;

const MAX_SLOT = 64;

/** Chassis slot (card position), 1-based; the sidecar uses 1 when absent. */
export const slotSchema = Joi.number().integer().min(1).max(MAX_SLOT).default(1).description('Chassis slot (1-based, default 1)');

/** Chassis object ids (UUIDs on current firmware); printable tokens only. */
const objectId = Joi.string()
  .trim()
  .min(1)
  .max(128)
  .pattern(/^[A-Za-z0-9._:-]+$/)
  .messages({ 'string.pattern.base': '{{#label}} must be a chassis object id (letters, digits and . _ : -)' });

/** A free-form chassis structure. */
const freeObject = () => Joi.object().unknown(true);

/** `[{key, value}]` entries the sidecar folds into the chassis' UUID-keyed map. */
const keyedEntries = (label: string) =>
  Joi.array()
    .items(Joi.object({ key: objectId.required(), value: freeObject().required() }))
    .min(1)
    .max(1024)
    .required()
    .description(`${label} as [{key, value}] entries (key = object UUID, value = chassis structure)`);

/** Rows sent to the ipGateway SetInputs/SetOutputs calls: objects, optionally with an id. */
const ipGatewayRows = (label: string) =>
  Joi.array()
    .items(freeObject().keys({ id: objectId }))
    .min(1)
    .max(1024)
    .required()
    .description(`${label} as returned by the matching get command, edited`);

const idsParam = () => Joi.array().items(objectId.required()).min(1).max(1024).unique().required().description('Ids of the objects to delete');

interface Spec {
  name: string;
  description: string;
  role: CommandRole;
  mutates: boolean;
  params?: Record<string, Joi.Schema>;
  /** Commands that act on the whole chassis take no slot. */
  chassisWide?: boolean;
  timeout_ms?: number;
}

function build(spec: Spec): CommandDefinition {
  const keys: Record<string, Joi.Schema> = { ...(spec.chassisWide ? {} : { slot: slotSchema }), ...(spec.params ?? {}) };
  return {
    name: spec.name,
    description: spec.description,
    requires_role: spec.role,
    params: Joi.object(keys),
    timeout_ms: spec.timeout_ms ?? (spec.mutates ? APPEAR_X_WRITE_TIMEOUT_MS : APPEAR_X_READ_TIMEOUT_MS),
    mutates: spec.mutates
  };
}

const read = (name: string, description: string, extra: Partial<Spec> = {}): Spec => ({ name, description, role: 'viewer', mutates: false, ...extra });
const write = (name: string, description: string, params: Record<string, Joi.Schema>, extra: Partial<Spec> = {}): Spec => ({
  name,
  description,
  role: 'operator',
  mutates: true,
  params,
  ...extra
});

const specs: Spec[] = [
  // Snapshot kept by the sidecar's poller.
  read('get_config', 'Consolidated chassis snapshot from the gateway (answered with an ack, then a config_response).', { role: 'operator', chassisWide: true }),

  // ipGateway family (legacy IP Gateway boards, ME-3000 / ME-4000).
  read('get_inputs', 'IP inputs of an IP Gateway card.'),
  read('get_outputs', 'IP outputs of an IP Gateway card.'),
  read('get_services', 'Input services of a card (board services).'),
  read('get_ip_interfaces', 'IP interfaces of an IP Gateway card.'),
  write('set_ip_input', 'Replace IP inputs on an IP Gateway card (Get → edit → Set).', { inputs: ipGatewayRows('Inputs') }),
  write('set_ip_output', 'Replace IP outputs on an IP Gateway card (Get → edit → Set).', { outputs: ipGatewayRows('Outputs') }),

  // Chassis-wide (MMI).
  read('get_alarms', 'Active alarms of the chassis.', { chassisWide: true }),
  read('get_chassis', 'Chassis model graph (cards, slots, versions).', { chassisWide: true }),

  // Xger card-manager family (X5 / X10 / X20).
  read('get_card_status', 'Card status: PTP lock, NMOS registry, SFP/QSFP diagnostics, port status.'),
  read('get_coder_services', 'Configured encoder/decoder services.'),
  write('set_coder_services', 'Create or replace encoder/decoder services.', { coder_services: keyedEntries('Coder services') }),
  write('delete_coder_services', 'Delete encoder/decoder services.', { ids: idsParam() }),
  read('get_multi_services', 'Multi-service definitions.'),
  write('set_multi_services', 'Create or replace multi-service definitions.', { multi_services: keyedEntries('Multi services') }),
  write('delete_multi_services', 'Delete multi-service definitions.', { ids: idsParam() }),
  read('get_audio_profiles', 'Audio encode/decode profiles.'),
  write('set_audio_profiles', 'Create or replace audio profiles.', { audio_profiles: keyedEntries('Audio profiles') }),
  write('delete_audio_profiles', 'Delete audio profiles.', { ids: idsParam() }),
  read('get_xger_ip_interfaces', 'IP interfaces defined on the card manager.'),
  write('set_xger_ip_interfaces', 'Create or replace card-manager IP interfaces.', { ip_interfaces: keyedEntries('IP interfaces') }),
  write('delete_xger_ip_interfaces', 'Delete card-manager IP interfaces.', { ids: idsParam() }),
  read('get_card_allocations', 'Card-pool allocations.'),
  write('set_card_allocations', 'Replace card-pool allocations.', { card_allocations: keyedEntries('Card allocations') }),
  read('get_pool_config', 'Pool configuration.'),
  write('set_pool_config', 'Replace the pool configuration.', { pool_config: freeObject().required().description('Pool configuration structure') }),
  read('get_lock_status', 'Input lock status per encoder.'),
  read('get_psi_status', 'Decoded PSI/SI tables of the active TS inputs.'),
  read('get_images', 'Uploaded images on the card.'),
  read('get_ip_connections', 'IP connections (SMPTE 2022 / 2110 / MPEG-TS bindings).'),
  write('set_ip_connections', 'Create or replace IP connections.', { ip_connections: keyedEntries('IP connections') }),
  write('delete_ip_connections', 'Delete IP connections.', { ids: idsParam() }),
  read('get_redundancy_groups', 'ST 2022-7 / hot-standby redundancy groups.'),
  write('set_redundancy_groups', 'Create or replace redundancy groups.', { redundancy_groups: keyedEntries('Redundancy groups') }),
  write('delete_redundancy_groups', 'Delete redundancy groups.', { ids: idsParam() }),
  read('get_redundancy_group_status', 'Live status of the redundancy groups (active leg, switch count).'),

  // Encoder / decoder runtime configuration.
  read('get_hip_encoders', 'Runtime configuration of the encoders on the card.'),
  write('set_hip_encoders', 'Replace the runtime configuration of the encoders.', {
    config: freeObject().required().description('Encoder configuration as returned by get_hip_encoders, edited')
  }),
  read('get_hip_decoders', 'Runtime configuration of the decoders on the card.'),
  write('set_hip_decoders', 'Replace the runtime configuration of the decoders.', {
    config: freeObject().required().description('Decoder configuration as returned by get_hip_decoders, edited')
  }),

  // SCTE-35 / DPI / ESAM.
  read('get_dpi', 'DPI (digital program insertion) configuration.'),
  write('set_dpi', 'Replace the DPI configuration.', { dpi: freeObject().required().description('DPI configuration') }),
  read('get_dpi_status', 'DPI status.'),
  read('get_esam_config', 'ESAM configuration.'),
  write('set_esam_config', 'Replace the ESAM configuration.', { esam_config: freeObject().required().description('ESAM configuration') }),
  read('get_esam_status', 'ESAM status.'),
  read('get_scte35_config', 'SCTE-35 configuration.'),
  write('set_scte35_config', 'Replace the SCTE-35 configuration.', { scte35_config: freeObject().required().description('SCTE-35 configuration') }),
  read('get_scte35_history', 'SCTE-35 splice history (fetched on demand).', {
    params: {
      limit: Joi.number().integer().min(1).max(10_000).description('Maximum number of splice records'),
      since_pts: Joi.number().integer().min(0).description('Only records after this PTS')
    },
    timeout_ms: APPEAR_X_WRITE_TIMEOUT_MS
  }),
  read('get_pois_server_status', 'POIS server status.'),

  // Maintenance.
  write('clear_all_counters', "Reset the encoder's packet and sequence error counters.", {}),
  {
    name: 'install_license',
    description: 'Install a license on the chassis.',
    role: 'admin',
    mutates: true,
    params: { license: Joi.string().trim().min(1).max(65_536).required().description('License key or license file content') },
    timeout_ms: APPEAR_X_LICENSE_TIMEOUT_MS
  },
  {
    name: 'upgrade_binary',
    description: 'Upgrade the gateway sidecar to a signed release (download, verify, restart).',
    role: 'admin',
    mutates: true,
    chassisWide: true,
    params: {
      version: Joi.string()
        .pattern(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/)
        .max(64)
        .required()
        .messages({ 'string.pattern.base': '{{#label}} must be a release version such as 1.4.2' })
        .description('Release version to install'),
      channel: Joi.string().valid('stable', 'beta', 'nightly').default('stable').description('Release channel')
    },
    timeout_ms: APPEAR_X_UPGRADE_TIMEOUT_MS
  }
];

export const appearXCommands: CommandDefinition[] = specs.map(build);
