/**
 * @bilbycast/driver-edge — the built-in driver for bilbycast-edge transport nodes.
 */
import { defaultEventSeverity, defineDriver } from '@bilbycast/driver-sdk';
import { edgeCommands } from './commands';
import { deriveHealth } from './health';
import { summarize } from './summary';

export { edgeCommands } from './commands';
export { deriveHealth, flowHealthToDevice } from './health';
export { summarize } from './summary';
export * as schemas from './schemas';

/**
 * Secrets in an edge's config_response. The edge strips its infrastructure secrets itself
 * (node secret, tunnel keys, TLS keys…) but keeps the flow-level credentials (SRT
 * passphrases, RTMP stream keys, RTSP passwords, bearer tokens): the manager redacts all of
 * them from what it caches or shows, and restores them into an `update_config`.
 */
export const EDGE_CONFIG_SECRETS = [
  'manager.node_secret',
  'manager.registration_token',
  'server.tls',
  'server.auth',
  'setup_token',
  'nmos_registration.bearer_token',
  '**.tunnel_encryption_key',
  '**.tunnel_bind_secret',
  '**.tunnel_psk',
  '**.tls_key_pem',
  '**.passphrase',
  '**.stream_key',
  '**.password',
  '**.bearer_token',
  '**.auth_token'
];

const AI_PROTOCOL = `Edge transport node (bilbycast-edge), WebSocket /ws/node.
Commands are {"type":"command","payload":{"command_id","action":{"type":<name>,...params}}}; the node answers command_ack {command_id, success, data?, error?, error_code?}.
get_config is answered only by a config_response carrying the whole AppConfig (version 2, infrastructure secrets stripped).
Flows connect top-level inputs (input_ids) to outputs (output_ids). Input/output "type": srt, rist, rtp, udp, rtmp, rtsp, webrtc, whep, hls, cmaf, st2110_20/_23/_30/_31/_40, rtp_audio and more.
Addresses are "host:port" strings (e.g. local_addr "0.0.0.0:9000"). SRT needs mode caller|listener|rendezvous.
Flow commands: create_flow{flow}, update_flow{flow_id,flow}, delete/start/stop/restart_flow{flow_id}, reset_counters{flow_id,scope}.
Inputs/outputs: create/update/delete_input, create/update/delete_output, add/remove_input, add/remove_output, activate_input, activate_output{active}, test_input, test_output.
Tunnels: create_tunnel{tunnel}, delete_tunnel{tunnel_id}. Flow groups: add/update/remove/start/stop_flow_group, add/remove_essence_flow.
PTP: get_ptp_mode, set_ptp_mode{mode auto|grandmaster|slave-only|off, iface, domain, priority1, scan_timeout}.
update_config{config} replaces the whole config (version must be 2). rotate_secret and upgrade_binary need admin.
Stats arrive every second (flows[].state Idle|Running, health Healthy|Warning|Error|Critical; tunnels[].state connecting|waiting|ready|down); health every 15 s with capabilities[] (ST 2110/PTP/NMOS are gated on them). Events: severity info|warning|critical with a category.`;

export const driver = defineDriver({
  device_type: 'edge',
  display_name: 'Edge Transport Node',
  commands: edgeCommands,
  summarize,
  deriveHealth,
  // Edge words are info | warning | critical; anything else maps to info (PROTOCOL.md §11.1).
  mapEventSeverity: defaultEventSeverity,
  ui_sections: ['flows', 'tunnels', 'inputs', 'outputs', 'alarms', 'config', 'ptp', 'resources', 'events'],
  ai_protocol: AI_PROTOCOL,
  topology: { icon: 'server', color: '#2563eb' },
  config_secrets: EDGE_CONFIG_SECRETS
});

export default driver;
