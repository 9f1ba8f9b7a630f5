/**
 * @bilbycast/driver-appear-x — the built-in driver for Appear X chassis (`device_type`
 * `appear_x`), reached through the bilbycast Appear X API gateway sidecar, which speaks the
 * node protocol to the manager and JSON-RPC 2.0 over HTTPS to the chassis.
 */
import { defaultEventSeverity, defineDriver } from '@bilbycast/driver-sdk';
import { appearXCommands } from './commands';
import { deriveAppearXHealth } from './health';
import { summarizeAppearXStats } from './summary';

export {
  appearXCommands,
  slotSchema,
  APPEAR_X_READ_TIMEOUT_MS,
  APPEAR_X_WRITE_TIMEOUT_MS,
  APPEAR_X_LICENSE_TIMEOUT_MS,
  APPEAR_X_UPGRADE_TIMEOUT_MS
} from './commands';
export { summarizeAppearXStats } from './summary';
export { deriveAppearXHealth, chassisAlarmSeverity } from './health';

const AI_PROTOCOL = `Appear X (device_type "appear_x"), reached through the bilbycast Appear X API gateway sidecar, which translates commands to the chassis' JSON-RPC 2.0 API.
Stats: a per-slot chassis snapshot every 5 s (alarms, chassis, inputs/outputs, coder services, card status, uptime_secs); no flows[].
Health: {status: ok|degraded|critical, alarms[], gateway_target{reachable, ...}}. Alarm severities MAJOR/CRITICAL are critical, MINOR/WARNING are warnings.
Commands: most take an optional slot (integer ≥ 1, default 1).
- Reads (viewer): get_inputs, get_outputs, get_services, get_ip_interfaces (IP Gateway cards); get_alarms, get_chassis (chassis-wide); get_card_status, get_coder_services, get_multi_services, get_audio_profiles, get_xger_ip_interfaces, get_card_allocations, get_pool_config, get_lock_status, get_psi_status, get_images, get_ip_connections, get_redundancy_groups, get_redundancy_group_status, get_hip_encoders, get_hip_decoders, get_dpi, get_dpi_status, get_esam_config, get_esam_status, get_scte35_config, get_scte35_history {limit?, since_pts?}, get_pois_server_status. get_config (operator) returns the whole snapshot.
- Writes (operator), Get → edit → Set: set_ip_input {inputs[]}, set_ip_output {outputs[]}; set_coder_services {coder_services}, set_multi_services {multi_services}, set_audio_profiles {audio_profiles}, set_xger_ip_interfaces {ip_interfaces}, set_card_allocations {card_allocations}, set_ip_connections {ip_connections}, set_redundancy_groups {redundancy_groups} — each an array of {key: object UUID, value: object}; delete_* variants take {ids[]}; set_pool_config {pool_config}, set_dpi {dpi}, set_esam_config {esam_config}, set_scte35_config {scte35_config}, set_hip_encoders / set_hip_decoders {config}; clear_all_counters.
- Admin: install_license {license}, upgrade_binary {version, channel stable|beta|nightly}.
Errors carry error_code such as unsupported_on_card, vendor_api_error, validation_error, unknown_action, discovery_in_progress (chassis unreachable).`;

export const driver = defineDriver({
  device_type: 'appear_x',
  display_name: 'Appear X (via gateway)',
  commands: appearXCommands,
  summarize: (stats) => summarizeAppearXStats(stats),
  deriveHealth: (input) => deriveAppearXHealth(input),
  // MINOR → warning, MAJOR → critical (PROTOCOL.md §11.1).
  mapEventSeverity: defaultEventSeverity,
  ui_sections: ['inputs', 'outputs', 'alarms', 'config', 'events'],
  ai_protocol: AI_PROTOCOL,
  topology: { icon: 'appear-x', color: '#0ea5e9' }
});

export default driver;
