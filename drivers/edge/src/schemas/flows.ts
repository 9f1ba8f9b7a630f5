/** FlowConfig, FlowGroup and TunnelConfig schemas. */
import { Joi } from '@bilbycast/driver-sdk';
import { clockDomain, idSchema, ifaceName, ipAddr, nameSchema, opaque, programNumber, socketAddr, uuidSchema } from './common';
import { inputConfigSchema } from './inputs';
import { outputConfigSchema } from './outputs';

/**
 * A flow. Current edges reference top-level inputs/outputs by id (`input_ids`, `output_ids`);
 * config schema version 1 embedded one `input` and an `outputs[]` list, still accepted here.
 */
export const flowConfigSchema = Joi.object({
  id: idSchema.required().description('Flow id (max 64 chars)'),
  name: nameSchema.required().description('Flow name'),
  enabled: Joi.boolean().description('Start the flow (persisted by start_flow / stop_flow)'),
  media_analysis: Joi.boolean().description('Run media analysis'),
  thumbnail: Joi.boolean().description('Capture thumbnails'),
  thumbnail_program_number: programNumber.description('Program to thumbnail (MPTS)'),
  thumbnail_interval_secs: Joi.number().integer().min(1).max(60).description('Thumbnail interval in seconds (1-60)'),
  bandwidth_limit: Joi.object({
    max_bitrate_mbps: Joi.number().positive().required().description('Limit in Mb/s'),
    action: Joi.string().valid('alarm', 'block').description('alarm or block when exceeded'),
    grace_period_secs: Joi.number().integer().min(0).description('Seconds over the limit before acting')
  })
    .unknown(true)
    .description('Bandwidth limit'),
  flow_group_id: idSchema.description('Flow group this flow belongs to'),
  clock_domain: clockDomain.description('PTP clock domain'),
  input_ids: Joi.array().items(idSchema).unique().description('Ids of the top-level inputs of this flow'),
  output_ids: Joi.array().items(idSchema).unique().description('Ids of the top-level outputs of this flow'),
  input: inputConfigSchema.description('Inline input (config schema version 1)'),
  outputs: Joi.array().items(outputConfigSchema).description('Inline outputs (config schema version 1)'),
  assembly: opaque.description('PID-bus / program assembly'),
  content_analysis: opaque.description('Content analysis settings'),
  recording: opaque.description('Recording settings'),
  master_clock: opaque.description('Master clock / lip-sync settings')
})
  .unknown(true)
  .description('Flow configuration');

export const flowGroupSchema = Joi.object({
  id: idSchema.required().description('Flow group id'),
  name: nameSchema.required().description('Flow group name'),
  clock_domain: clockDomain.description('PTP clock domain shared by the members'),
  flows: Joi.array().items(idSchema).unique().description('Member flow ids'),
  flow_ids: Joi.array().items(idSchema).unique().description('Member flow ids (alias of flows)')
})
  .oxor('flows', 'flow_ids')
  .unknown(true)
  .description('ST 2110 flow group (essence bundle)');

const hex64 = Joi.string().pattern(/^[0-9a-fA-F]{64}$/, '64 hex characters');

/** Edge TunnelConfig (PROTOCOL.md §12.2): relay mode needs relay_addr(s), direct mode peer or listen address + PSK. */
export const tunnelConfigSchema = Joi.object({
  id: uuidSchema.required().description('Tunnel id (UUID)'),
  name: nameSchema.required().description('Tunnel name'),
  enabled: Joi.boolean().description('Whether the tunnel runs'),
  protocol: Joi.string().valid('tcp', 'udp').required().description('Carried protocol'),
  transport: Joi.string().valid('quic', 'udp').description('Tunnel transport (capability native-udp-tunnel for udp)'),
  mode: Joi.string().valid('relay', 'direct').required().description('Through a relay or edge to edge'),
  direction: Joi.string().valid('ingress', 'egress').required().description('Edge direction (note the naming inversion, PROTOCOL.md §12.2)'),
  local_addr: socketAddr.required().description('Listen address (egress) or forward address (ingress), host:port'),
  relay_addr: socketAddr.description('Relay QUIC address, host:port'),
  relay_addrs: Joi.array().items(socketAddr).max(2).description('Primary and backup relay addresses'),
  tunnel_encryption_key: hex64.description('End-to-end encryption key (64 hex chars)'),
  tunnel_bind_secret: hex64.description('Bind secret for relay tokens (64 hex chars)'),
  peer_addr: socketAddr.description('Direct mode: peer address to dial, host:port'),
  direct_listen_addr: socketAddr.description('Direct mode: address to listen on, host:port'),
  tunnel_psk: Joi.string().min(16).max(256).description('Direct mode pre-shared key'),
  interface: ifaceName.description('Network interface to pin the tunnel to'),
  source: ipAddr.description('Source IP to send from'),
  gateway: ipAddr.description('Gateway for the pinned interface')
})
  .when(Joi.object({ mode: Joi.valid('relay') }).unknown(), {
    then: Joi.object().or('relay_addr', 'relay_addrs')
  })
  .when(Joi.object({ mode: Joi.valid('direct') }).unknown(), {
    then: Joi.object().or('peer_addr', 'direct_listen_addr')
  })
  .unknown(true)
  .description('Tunnel configuration');

/** Full edge AppConfig for update_config: `version` must be 2. */
export const appConfigSchema = Joi.object({
  version: Joi.number().valid(2).required().description('Config schema version (must be 2)'),
  node_id: Joi.string().max(128).description('Edge node id'),
  server: opaque.description('Local API server settings'),
  device_name: Joi.string().max(256).description('Device name'),
  inputs: Joi.array()
    .items(Joi.object({ id: idSchema.required().description('Input id'), type: Joi.string().required().description('Input type') }).unknown(true))
    .description('Top-level inputs'),
  outputs: Joi.array()
    .items(Joi.object({ id: idSchema.required().description('Output id'), type: Joi.string().required().description('Output type') }).unknown(true))
    .description('Top-level outputs'),
  flows: Joi.array()
    .items(Joi.object({ id: idSchema.required().description('Flow id') }).unknown(true))
    .description('Flows'),
  tunnels: Joi.array()
    .items(Joi.object({ id: Joi.string().required().description('Tunnel id') }).unknown(true))
    .description('Tunnels'),
  flow_groups: Joi.array()
    .items(Joi.object({ id: idSchema.required().description('Flow group id') }).unknown(true))
    .description('Flow groups')
})
  .unknown(true)
  .description('Full edge configuration (AppConfig)');
