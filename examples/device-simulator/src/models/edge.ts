/**
 * bilbycast-edge (PROTOCOL.md §12.2): an in-memory AppConfig
 * (schema version 2) driven by the manager's commands, stats built from it every tick.
 */
import { THUMBNAIL_HEIGHT, THUMBNAIL_JPEG_BASE64, THUMBNAIL_WIDTH } from '../thumbnail';
import type { CommandAction, CommandOutcome, DeviceEvent } from '../types';
import {
  CommandError,
  type Handler,
  type KindModel,
  Meter,
  type ModelHost,
  PACKET_BYTES,
  dispatch,
  eventWithNulls,
  isRecord,
  lanAddress,
  requireObject,
  requireString,
  systemResources,
  uptimeSecs
} from './common';

type Obj = Record<string, unknown>;

export interface EdgeFlowConfig extends Obj {
  id: string;
  name: string;
  enabled?: boolean;
  input_ids?: string[];
  output_ids?: string[];
  thumbnail?: boolean;
}

/** A top-level input or output definition (`id`, `name`, `type` + protocol fields). */
export interface EdgeEndpointConfig extends Obj {
  id: string;
  type: string;
}

export interface EdgeConfig extends Obj {
  version: 2;
  device_name: string;
  setup_enabled: boolean;
  server: Obj;
  manager: { enabled: boolean; urls: string[]; accept_self_signed_cert: boolean; node_id?: string };
  inputs: EdgeEndpointConfig[];
  outputs: EdgeEndpointConfig[];
  flows: EdgeFlowConfig[];
  tunnels: Obj[];
  flow_groups: Obj[];
}

/** Capability bits every current edge build advertises (PROTOCOL.md §12.2). */
export const EDGE_CAPABILITIES: readonly string[] = Object.freeze([
  'st2110-30',
  'st2110-31',
  'st2110-40',
  'st2110-20',
  'st2110-23',
  'ptp',
  'is-04',
  'is-05',
  'is-08',
  'bcp-004',
  'redundancy-2022-7',
  'audio-encode',
  'optional-input',
  'resources',
  'tr101290_full',
  'hitless_2022_7',
  'pid_bus_switch_slot',
  'node_bus',
  'pes_splice',
  'upgrade',
  'master_clock',
  'av-skew',
  'network-info',
  'egress_dejitter',
  'egress_pacing',
  'epoch_lock',
  'ingress_dejitter',
  'node_tuning',
  'media_player_tuning',
  'interface-binding',
  'bonding',
  'native-udp-tunnel',
  'tunnel-nic-pin',
  'bond-leg-test',
  'bond-leg-capacity',
  'bond-probe-responder',
  'media-player-audio-only-v1'
]);

const PTP_MODES = ['auto', 'grandmaster', 'slave-only', 'off'];
/** Tunnel fields the edge strips from config_response and merges back on update_config. */
const TUNNEL_SECRETS = ['tunnel_encryption_key', 'tunnel_bind_secret', 'tunnel_psk'];
const INPUT_ADDRESS_KEYS = ['local_addr', 'remote_addr', 'listen_addr', 'bind_addr', 'rtsp_url', 'whep_url'];
const OUTPUT_ADDRESS_KEYS = ['remote_addr', 'dest_addr', 'dest_url', 'ingest_url', 'whip_url', 'local_addr'];
const MAX_ID = 64;

/**
 * Ids of the i-th flow and its input and output. Real edges accept any 1-64 bytes without
 * control characters, and operators name things in the edge's own UI: so after `flow-1`
 * come ids with spaces, accents and brackets.
 */
export function resourceIds(i: number): { flow: string; input: string; output: string } {
  switch (i % 4) {
    case 1:
      return { flow: `flow-${i}`, input: `in-${i}`, output: `out-${i}` };
    case 2:
      return { flow: `Studio feed ${i}`, input: `Studio in ${i}`, output: `Studio out ${i}` };
    case 3:
      return { flow: `Ü-Wagen ${i}`, input: `Ü-Wagen in ${i}`, output: `Ü-Wagen out ${i}` };
    default:
      return { flow: `Cam-${i} (backup)`, input: `Cam-${i} in (backup)`, output: `Cam-${i} out (backup)` };
  }
}

function initialConfig(host: ModelHost, flows: number): EdgeConfig {
  const config: EdgeConfig = {
    version: 2,
    device_name: host.name,
    setup_enabled: false,
    server: { listen_addr: '0.0.0.0:8080' },
    manager: { enabled: true, urls: [host.url], accept_self_signed_cert: host.insecure },
    inputs: [],
    outputs: [],
    flows: [],
    tunnels: [],
    flow_groups: []
  };
  for (let i = 1; i <= flows; i++) {
    const ids = resourceIds(i);
    config.inputs.push({
      id: ids.input,
      name: `SRT in ${i}`,
      type: 'srt',
      mode: 'listener',
      local_addr: `0.0.0.0:${9000 + i}`,
      latency_ms: 120,
      passphrase: `${host.name} passphrase ${i}`
    });
    config.outputs.push({ id: ids.output, name: `UDP out ${i}`, type: 'udp', dest_addr: `239.1.${(i >> 8) & 255}.${i & 255}:5000` });
    config.flows.push({ id: ids.flow, name: `${host.name} feed ${i}`, enabled: true, input_ids: [ids.input], output_ids: [ids.output], thumbnail: true });
  }
  return config;
}

function copyKeys(target: Obj, source: Obj, keys: readonly string[]): void {
  for (const key of keys) if (source[key] !== undefined) target[key] = source[key];
}

function validation(message: string): CommandError {
  return new CommandError(message, 'validation_error');
}

function checkId(value: unknown, what: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (typeof value !== 'string' || value === '' || Buffer.byteLength(value) > MAX_ID || /[\u0000-\u001f\u007f-\u009f]/.test(value)) {
    throw validation(`Invalid ${what}: id must be 1-${MAX_ID} bytes without control characters`);
  }
  return value;
}

function checkEndpoint(value: unknown, what: string): EdgeEndpointConfig {
  if (!isRecord(value)) throw validation(`Invalid ${what}: expected an object`);
  const id = checkId(value.id, what);
  if (typeof value.type !== 'string' || value.type === '') throw validation(`Invalid ${what} '${id}': missing type`);
  return value as EdgeEndpointConfig;
}

function checkIds(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) throw validation(`Invalid flow config: ${what} must be a list of ids`);
  return value;
}

function checkUnique(items: { id: string }[], what: string): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id)) throw validation(`Invalid config: duplicate ${what} id '${item.id}'`);
    seen.add(item.id);
  }
}

export class EdgeModel implements KindModel {
  config: EdgeConfig;
  /** Running flows by id; a flow runs while it is configured and enabled. */
  private readonly running = new Map<string, { name: string; meter: Meter }>();
  private readonly ptp: Obj = {
    mode: 'auto',
    iface: 'eth0',
    domain: 0,
    priority1: 128,
    scan_timeout: 10,
    offset_warn_ns: 1000,
    path_delay_warn_ns: 10000
  };
  private readonly handlers: Record<string, Handler>;

  constructor(
    private readonly host: ModelHost,
    flows: number
  ) {
    this.config = initialConfig(host, flows);
    const now = Date.now();
    for (const flow of this.config.flows) this.running.set(flow.id, { name: flow.name, meter: new Meter(`${host.name}/${flow.id}`, now) });
    this.handlers = {
      create_flow: (a) => this.createFlow(a),
      update_flow: (a) => this.updateFlow(a),
      delete_flow: (a) => {
        const flow = this.flow(a);
        this.config.flows = this.config.flows.filter((f) => f !== flow);
        this.applyRunState();
      },
      start_flow: (a) => this.setEnabled(a, true),
      stop_flow: (a) => this.setEnabled(a, false),
      restart_flow: (a) => {
        const flow = this.flow(a);
        if (!this.running.has(flow.id)) throw new CommandError(`Flow '${flow.id}' is not running`, 'flow_not_running');
        this.applyRunState(new Set([flow.id]));
      },
      create_input: (a) => this.createEndpoint('inputs', requireObject(a, 'input', 'missing_field'), 'input'),
      update_input: (a) => this.updateEndpoint('inputs', a, 'input'),
      delete_input: (a) => this.deleteEndpoint('inputs', requireString(a, 'input_id', 'missing_field'), 'input'),
      create_output: (a) => this.createEndpoint('outputs', requireObject(a, 'output', 'missing_field'), 'output'),
      update_output: (a) => this.updateEndpoint('outputs', a, 'output'),
      delete_output: (a) => this.deleteEndpoint('outputs', requireString(a, 'output_id', 'missing_field'), 'output'),
      add_input: (a) => this.addMember(a, 'input'),
      remove_input: (a) => this.removeMember(a, 'input'),
      add_output: (a) => this.addMember(a, 'output'),
      remove_output: (a) => this.removeMember(a, 'output'),
      update_config: (a) => this.updateConfig(a),
      create_tunnel: (a) => {
        const tunnel = requireObject(a, 'tunnel', 'missing_field');
        for (const key of ['id', 'protocol', 'mode', 'direction', 'local_addr']) {
          if (typeof tunnel[key] !== 'string') throw validation(`Invalid tunnel config: missing ${key}`);
        }
        this.config.tunnels = [...this.config.tunnels.filter((t) => t.id !== tunnel.id), tunnel];
      },
      delete_tunnel: (a) => {
        const id = requireString(a, 'tunnel_id', 'missing_field');
        this.config.tunnels = this.config.tunnels.filter((t) => t.id !== id);
      },
      reset_counters: (a) => {
        const flow = this.flow(a);
        const scope = typeof a.scope === 'string' ? a.scope : 'all';
        this.running.get(flow.id)?.meter.reset();
        return { flow_id: flow.id, scope };
      },
      get_ptp_mode: () => ({ ...this.ptp, config_path: '/etc/bilbycast/ptp.toml', available_ifaces: ['eth0'] }),
      set_ptp_mode: (a) => {
        const mode = requireString(a, 'mode', 'missing_field');
        if (!PTP_MODES.includes(mode)) throw new CommandError(`Invalid PTP mode '${mode}'`, 'invalid_value');
        this.ptp.mode = mode;
        copyKeys(this.ptp, a, ['iface', 'domain', 'priority1', 'scan_timeout', 'offset_warn_ns', 'path_delay_warn_ns']);
      },
      rotate_secret: (a) => this.host.rotateSecret(requireString(a, 'new_secret', 'missing_field'))
    };
  }

  execute(action: CommandAction): CommandOutcome {
    return dispatch(this.handlers, action, () => new CommandError(`Unknown command: ${action.type}`, 'unknown_action'));
  }

  /** The config without infrastructure secrets (PROTOCOL.md §12.2); credentials never live in it. */
  configResponse(): EdgeConfig {
    const nodeId = this.host.credentials?.node_id;
    return {
      ...this.config,
      manager: nodeId ? { ...this.config.manager, node_id: nodeId } : this.config.manager,
      tunnels: this.config.tunnels.map((tunnel) => {
        const copy = { ...tunnel };
        for (const key of TUNNEL_SECRETS) delete copy[key];
        return copy;
      })
    };
  }

  stats(fallback: boolean): object {
    const now = Date.now();
    const flows = fallback ? [] : this.config.flows.map((flow) => this.flowStats(flow, now));
    return {
      flows,
      tunnels: this.config.tunnels.map((t) => this.tunnelStatus(t)),
      uptime_secs: uptimeSecs(this.host.booted_at, now),
      active_flows: this.running.size,
      // Normal samples count every listed flow; the fallback sample counts running flows.
      total_flows: fallback ? this.running.size : flows.length,
      system_resources: systemResources(this.host.name, this.running.size),
      standby_inputs: []
    };
  }

  health(): object {
    const now = Date.now();
    return {
      status: 'ok',
      version: this.host.software_version,
      uptime_secs: uptimeSecs(this.host.booted_at, now),
      active_flows: this.running.size,
      total_flows: this.running.size, // the edge's quirk: running count
      api_addr: `${lanAddress(this.host.name)}:8080`,
      monitor_addr: null,
      capabilities: EDGE_CAPABILITIES,
      system_resources: systemResources(this.host.name, this.running.size),
      ptp_state: {
        lock_state: this.ptp.mode === 'grandmaster' ? 'master' : 'unavailable',
        domain: this.ptp.domain,
        grandmaster_id: null,
        offset_ns: null,
        mean_path_delay_ns: null,
        steps_removed: null,
        last_update_unix_ms: null
      },
      ptp_mode: this.ptp.mode
    };
  }

  thumbnails(): object[] {
    const out: object[] = [];
    for (const flow of this.config.flows) {
      if (flow.thumbnail === true && this.running.has(flow.id)) {
        out.push({ flow_id: flow.id, data: THUMBNAIL_JPEG_BASE64, width: THUMBNAIL_WIDTH, height: THUMBNAIL_HEIGHT });
      }
    }
    return out;
  }

  ackPayload(commandId: unknown, outcome: CommandOutcome): object {
    const ack: Obj = { command_id: typeof commandId === 'string' ? commandId : 'unknown', success: outcome.success };
    if (outcome.data !== undefined) ack.data = outcome.data;
    if (!outcome.success) {
      ack.error = outcome.error ?? 'Command failed';
      if (outcome.error_code) ack.error_code = outcome.error_code;
    }
    return ack;
  }

  /** Unset optional fields are null, as serde writes them. */
  eventPayload(event: DeviceEvent): object {
    return eventWithNulls(event);
  }

  private flowStats(flow: EdgeFlowConfig, now: number): object {
    const run = this.running.get(flow.id);
    if (run) run.meter.advance(now);
    const packets = run ? run.meter.packets : 0;
    const bytes = packets * PACKET_BYTES;
    const bitrate = run ? run.meter.bitrate_bps : 0;
    const inputId = flow.input_ids?.[0];
    const stats: Obj = {
      flow_id: flow.id,
      flow_name: flow.name,
      state: run ? 'Running' : 'Idle',
      health: 'Healthy',
      uptime_secs: run ? uptimeSecs(run.meter.started_at, now) : 0
    };
    const input = inputId === undefined ? undefined : this.config.inputs.find((i) => i.id === inputId);
    if (input) {
      stats.active_input_id = input.id;
      const inputStats: Obj = { input_type: input.type, state: run ? 'receiving' : 'idle' };
      copyKeys(inputStats, input, ['mode', ...INPUT_ADDRESS_KEYS]);
      inputStats.packets_received = packets;
      inputStats.bytes_received = bytes;
      inputStats.bitrate_bps = bitrate;
      inputStats.packets_lost = 0;
      inputStats.packets_filtered = 0;
      inputStats.packets_recovered_fec = 0;
      inputStats.redundancy_switches = 0;
      stats.input = inputStats;
    }
    const outputs: Obj[] = [];
    for (const outputId of flow.output_ids ?? []) {
      const output = this.config.outputs.find((o) => o.id === outputId);
      if (!output) continue;
      const outputStats: Obj = { output_id: output.id, output_name: output.name ?? output.id, output_type: output.type, state: run ? 'active' : 'idle' };
      copyKeys(outputStats, output, ['mode', ...OUTPUT_ADDRESS_KEYS]);
      outputStats.packets_sent = packets;
      outputStats.bytes_sent = bytes;
      outputStats.bitrate_bps = bitrate;
      outputStats.packets_dropped = 0;
      outputStats.fec_packets_sent = 0;
      outputs.push(outputStats);
    }
    stats.outputs = outputs;
    return stats;
  }

  private tunnelStatus(tunnel: Obj): object {
    const relayAddrs = Array.isArray(tunnel.relay_addrs) ? tunnel.relay_addrs : typeof tunnel.relay_addr === 'string' ? [tunnel.relay_addr] : [];
    const status: Obj = {
      id: tunnel.id,
      name: tunnel.name,
      protocol: tunnel.protocol,
      mode: tunnel.mode,
      direction: tunnel.direction,
      local_addr: tunnel.local_addr,
      state: tunnel.enabled === false ? 'down' : 'ready'
    };
    if (relayAddrs.length > 0) {
      status.relay_addrs = relayAddrs;
      status.active_relay_idx = 0;
      status.active_relay_addr = relayAddrs[0];
    }
    status.stats = {
      packets_sent: 0,
      packets_received: 0,
      bytes_sent: 0,
      bytes_received: 0,
      bitrate_in_bps: 0,
      bitrate_out_bps: 0,
      send_errors: 0,
      decrypt_errors: 0,
      connections_total: 0,
      connections_active: 0
    };
    return status;
  }

  /**
   * Starts enabled flows that are not running and stops running flows that are disabled or
   * gone, raising the edge's flow events; flows in `reset` that keep running restart with
   * fresh counters.
   */
  private applyRunState(reset: ReadonlySet<string> = new Set()): void {
    const now = Date.now();
    const wanted = new Map(this.config.flows.filter((f) => f.enabled !== false).map((f) => [f.id, f]));
    for (const [id, run] of this.running) {
      if (wanted.has(id)) continue;
      this.running.delete(id);
      this.host.raiseEvent({ severity: 'info', category: 'flow', message: `Flow '${run.name}' stopped`, flow_id: id });
    }
    for (const [id, flow] of wanted) {
      const known = this.running.has(id);
      if (known && !reset.has(id)) continue;
      this.running.set(id, { name: flow.name, meter: new Meter(`${this.host.name}/${id}`, now) });
      if (!known) this.host.raiseEvent({ severity: 'info', category: 'flow', message: `Flow '${flow.name}' started`, flow_id: id });
    }
  }

  private flow(action: CommandAction): EdgeFlowConfig {
    const id = requireString(action, 'flow_id', 'missing_field');
    const flow = this.config.flows.find((f) => f.id === id);
    if (!flow) throw new CommandError(`Flow '${id}' not found`, 'unknown_flow');
    return flow;
  }

  private checkFlow(value: unknown, config: EdgeConfig): EdgeFlowConfig {
    if (!isRecord(value)) throw validation('Invalid flow config: expected an object');
    const id = checkId(value.id, 'flow config');
    if (typeof value.name !== 'string' || value.name === '') throw validation(`Invalid flow config '${id}': missing name`);
    for (const [field, list] of [
      ['input_ids', config.inputs],
      ['output_ids', config.outputs]
    ] as const) {
      for (const ref of checkIds(value[field], field)) {
        if (!list.some((item) => item.id === ref)) throw validation(`Invalid flow config '${id}': unknown ${field.slice(0, -4)} '${ref}'`);
      }
    }
    return value as EdgeFlowConfig;
  }

  private createFlow(action: CommandAction): void {
    const flow = this.checkFlow(requireObject(action, 'flow', 'missing_field'), this.config);
    if (this.config.flows.some((f) => f.id === flow.id)) throw validation(`Invalid flow config: flow '${flow.id}' already exists`);
    this.config.flows = [...this.config.flows, flow];
    this.applyRunState();
  }

  /** Replaces a flow (creates it if absent); a changed running flow restarts. */
  private updateFlow(action: CommandAction): void {
    const id = requireString(action, 'flow_id', 'missing_field');
    const flow = this.checkFlow({ ...requireObject(action, 'flow', 'missing_field'), id }, this.config);
    const old = this.config.flows.find((f) => f.id === id);
    this.config.flows = old ? this.config.flows.map((f) => (f === old ? flow : f)) : [...this.config.flows, flow];
    this.applyRunState(old && JSON.stringify(old) !== JSON.stringify(flow) ? new Set([id]) : undefined);
  }

  private setEnabled(action: CommandAction, enabled: boolean): void {
    const flow = this.flow(action);
    this.config.flows = this.config.flows.map((f) => (f === flow ? { ...f, enabled } : f));
    this.applyRunState();
  }

  private createEndpoint(list: 'inputs' | 'outputs', value: Obj, what: string): void {
    const item = checkEndpoint(value, `${what} config`);
    if (this.config[list].some((i) => i.id === item.id)) throw validation(`Invalid ${what} config: ${what} '${item.id}' already exists`);
    this.config[list] = [...this.config[list], item];
  }

  private updateEndpoint(list: 'inputs' | 'outputs', action: CommandAction, what: 'input' | 'output'): void {
    const id = requireString(action, `${what}_id`, 'missing_field');
    const item = checkEndpoint({ ...requireObject(action, what, 'missing_field'), id }, `${what} config`);
    if (!this.config[list].some((i) => i.id === id)) throw validation(`Invalid ${what} config: ${what} '${id}' not found`);
    this.config[list] = this.config[list].map((i) => (i.id === id ? item : i));
  }

  private deleteEndpoint(list: 'inputs' | 'outputs', id: string, what: 'input' | 'output'): void {
    if (!this.config[list].some((i) => i.id === id)) throw validation(`Invalid ${what} config: ${what} '${id}' not found`);
    const key = `${what}_ids` as const;
    const user = this.config.flows.find((f) => f[key]?.includes(id));
    if (user) throw validation(`Invalid ${what} config: ${what} '${id}' is used by flow '${user.id}'`);
    this.config[list] = this.config[list].filter((i) => i.id !== id);
  }

  /** add_input / add_output: upserts the definition and makes it a member of the flow. */
  private addMember(action: CommandAction, what: 'input' | 'output'): void {
    const flow = this.flow(action);
    const item = checkEndpoint(requireObject(action, what, 'missing_field'), `${what} config`);
    const key = `${what}_ids` as const;
    const members = flow[key] ?? [];
    if (members.includes(item.id)) throw new CommandError(`${what} '${item.id}' is already a member of flow '${flow.id}'`, `${what}_already_member`);
    const list = what === 'input' ? 'inputs' : 'outputs';
    this.config[list] = [...this.config[list].filter((i) => i.id !== item.id), item];
    this.config.flows = this.config.flows.map((f) => (f === flow ? { ...f, [key]: [...members, item.id] } : f));
  }

  private removeMember(action: CommandAction, what: 'input' | 'output'): void {
    const flow = this.flow(action);
    const id = requireString(action, `${what}_id`, 'missing_field');
    const key = `${what}_ids` as const;
    const members = flow[key] ?? [];
    if (!members.includes(id)) throw new CommandError(`${what} '${id}' is not a member of flow '${flow.id}'`, `${what}_not_member`);
    if (what === 'input' && members[0] === id && this.running.has(flow.id)) {
      throw new CommandError(`Input '${id}' is the active input of running flow '${flow.id}'`, 'active_input_in_use');
    }
    this.config.flows = this.config.flows.map((f) => (f === flow ? { ...f, [key]: members.filter((m) => m !== id) } : f));
  }

  /**
   * Replaces inputs, outputs, flows, tunnels and flow groups; keeps the local manager and
   * server blocks, the local device_name when absent and local tunnel secrets the push lacks.
   */
  private updateConfig(action: CommandAction): void {
    const pushed = requireObject(action, 'config', 'missing_field');
    if (pushed.version !== 2) throw validation(`Invalid config: unsupported config version ${JSON.stringify(pushed.version)} (expected 2)`);
    const list = (key: string): unknown[] => {
      const value = pushed[key];
      if (value === undefined) return [];
      if (!Array.isArray(value)) throw validation(`Invalid config: ${key} must be a list`);
      return value;
    };
    const next: EdgeConfig = {
      ...this.config,
      ...pushed,
      version: 2,
      device_name: typeof pushed.device_name === 'string' ? pushed.device_name : this.config.device_name,
      setup_enabled: this.config.setup_enabled,
      server: this.config.server,
      manager: this.config.manager,
      inputs: list('inputs').map((i) => checkEndpoint(i, 'input config')),
      outputs: list('outputs').map((o) => checkEndpoint(o, 'output config')),
      flows: [],
      tunnels: list('tunnels').map((t) => {
        if (!isRecord(t) || typeof t.id !== 'string') throw validation('Invalid tunnel config: missing id');
        const local = this.config.tunnels.find((old) => old.id === t.id);
        const merged = { ...t };
        if (local) for (const key of TUNNEL_SECRETS) if (merged[key] === undefined && local[key] !== undefined) merged[key] = local[key];
        return merged;
      }),
      flow_groups: list('flow_groups').filter(isRecord)
    };
    delete next.node_id;
    next.flows = list('flows').map((f) => this.checkFlow(f, next));
    checkUnique(next.inputs, 'input');
    checkUnique(next.outputs, 'output');
    checkUnique(next.flows, 'flow');
    const changed = new Set<string>();
    for (const flow of next.flows) {
      const old = this.config.flows.find((f) => f.id === flow.id);
      if (old && JSON.stringify(old) !== JSON.stringify(flow)) changed.add(flow.id);
    }
    this.config = next;
    this.applyRunState(changed);
  }
}
