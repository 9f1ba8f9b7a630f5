/**
 * @bilbycast/driver-relay — the built-in driver for bilbycast relay servers (`device_type`
 * `relay`): stateless QUIC/UDP tunnel relays that edges connect to.
 */
import { defaultEventSeverity, defineDriver } from '@bilbycast/driver-sdk';
import { relayCommands } from './commands';
import { deriveRelayHealth } from './health';
import { summarizeRelayStats } from './summary';
import { refuseRelayWriteBack } from './write-back-guard';

export { relayCommands, RELAY_COMMAND_TIMEOUT_MS } from './commands';
export { summarizeRelayStats } from './summary';
export { deriveRelayHealth } from './health';
export { refuseRelayWriteBack, relayProcessStartMs, WRITE_BACK_COMMANDS, WRITE_BACK_MARGIN_MS } from './write-back-guard';

/** Secrets in a relay's config_response: it redacts its node secret and API token itself, but not the distribution token secret. */
export const RELAY_CONFIG_SECRETS = ['manager.node_secret', 'manager.registration_token', 'api_token', 'distribution.token_secret'];

const AI_PROTOCOL = `Relay Server (device_type "relay"): a stateless, zero-knowledge relay that pairs the ingress and egress legs of edge tunnels (QUIC, or native UDP sessions).
Stats (every 1 s): tunnels[] {tunnel_id, protocol, status active|waiting_egress|waiting_ingress|empty, ingress_edge_id, egress_edge_id, stats{bytes_ingress, bytes_egress, ...}}, udp_sessions[], edges[] {edge_id, remote_addr}, connected_edges, active_tunnels, total_tunnels, total_bytes_ingress/egress/forwarded, total_bandwidth_bps, peak_tunnels, peak_edges, connections_total, uptime_secs.
Commands (action type and parameters):
- get_config (operator): redacted configuration.
- list_tunnels, list_edges, list_udp_sessions (operator): arrays.
- disconnect_edge {edge_id} (admin).
- close_tunnel {tunnel_id}, close_udp_session {tunnel_id} (admin; tunnel_id is a UUID).
- authorize_tunnel {tunnel_id, ingress_token, egress_token} (admin; tokens are hex HMAC-SHA256 of "<tunnel_id>:ingress" / ":egress" keyed with the tunnel bind secret).
- revoke_tunnel {tunnel_id} (admin).
- configure_distribution {token_secret (64 hex), require_viewer_token, require_ingest_token, public_ip, public_base_url (http/https), cascade_sources[]} (admin; any subset; refused until the relay has restarted since it registered).
- rotate_secret {new_secret} (admin; refused likewise).
Events use severities info|warning|critical and categories edge, tunnel, manager, distribution; flow_id carries the tunnel UUID.`;

export const driver = defineDriver({
  device_type: 'relay',
  display_name: 'Relay Server',
  commands: relayCommands,
  summarize: (stats) => summarizeRelayStats(stats),
  deriveHealth: (input) => deriveRelayHealth(input),
  mapEventSeverity: defaultEventSeverity,
  ui_sections: ['tunnels', 'edges', 'config', 'events'],
  ai_protocol: AI_PROTOCOL,
  topology: { icon: 'relay', color: '#8b5cf6' },
  config_secrets: RELAY_CONFIG_SECRETS,
  refuseCommand: (input) => refuseRelayWriteBack(input)
});

export default driver;
