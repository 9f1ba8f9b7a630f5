/**
 * A gateway built on the gateway SDK, shaped like the Appear X API gateway (PROTOCOL.md §12.4):
 * an opaque chassis snapshot with one IP Gateway card in slot 1
 * whose IP inputs are also reported as `flows[]`, alarm-based health, free-form commands,
 * and failures that always carry an error_code.
 */
import { THUMBNAIL_JPEG_BASE64 } from '../thumbnail';
import type { CommandAction, CommandOutcome, DeviceEvent } from '../types';
import {
  CommandError,
  type Handler,
  type KindModel,
  Meter,
  type ModelHost,
  dispatch,
  eventWithNulls,
  hash32,
  isRecord,
  lanAddress,
  uptimeSecs
} from './common';

type Obj = Record<string, unknown>;

export interface GatewayConfig extends Obj {
  chassis: Obj;
  slots: Record<string, Obj>;
  inputs: Record<string, Obj[]>;
  outputs: Record<string, Obj[]>;
}

/** The chassis has been up longer than the sidecar process. */
const CHASSIS_HEAD_START_SECS = 3 * 86400;

function slotOf(action: CommandAction): string {
  const slot = action.slot ?? 1;
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 1) throw new CommandError('slot must be an integer ≥ 1', 'validation_error');
  if (slot !== 1) throw new CommandError(`No card in slot ${slot}`, 'unsupported_on_card');
  return '1';
}

/** Health status from the active alarms: MAJOR/CRITICAL → critical, MINOR/WARNING → degraded. */
function alarmStatus(alarms: readonly object[]): 'ok' | 'degraded' | 'critical' {
  let status: 'ok' | 'degraded' | 'critical' = 'ok';
  for (const alarm of alarms) {
    const raw = (alarm as Obj).severity;
    const severity = typeof raw === 'string' ? raw.toLowerCase() : '';
    if (severity === 'major' || severity === 'critical') return 'critical';
    if (severity === 'minor' || severity === 'warning') status = 'degraded';
  }
  return status;
}

export class GatewayModel implements KindModel {
  readonly config: GatewayConfig;
  private readonly alarms: object[];
  /** Receive meters of the enabled IP inputs, by row id. */
  private readonly meters = new Map<string, Meter>();
  private readonly handlers: Record<string, Handler>;

  constructor(
    private readonly host: ModelHost,
    inputs: number,
    alarms: object[]
  ) {
    this.alarms = [...alarms];
    const rows: Obj[] = [];
    for (let i = 1; i <= inputs; i++) {
      rows.push({ id: `ipin-${i}`, name: `IP input ${i}`, enabled: true, protocol: 'srt', mode: 'listener', local_addr: `0.0.0.0:${7000 + i}` });
    }
    this.config = {
      chassis: { model: 'Appear X20', serial: `AX20-${hash32(host.name).toString(16).padStart(8, '0')}`, firmware: '2.14.0' },
      slots: { '1': { card: 'IP Gateway', status: 'ok' } },
      inputs: { '1': rows },
      outputs: { '1': [] }
    };
    this.handlers = {
      get_alarms: () => [...this.alarms],
      get_chassis: () => ({ ...this.config.chassis, slots: this.config.slots }),
      get_inputs: (a) => this.config.inputs[slotOf(a)],
      get_outputs: (a) => this.config.outputs[slotOf(a)],
      set_ip_input: (a) => {
        const slot = slotOf(a);
        if (!Array.isArray(a.inputs) || a.inputs.length === 0 || !a.inputs.every(isRecord)) {
          throw new CommandError('inputs must be a non-empty list of objects', 'validation_error');
        }
        this.config.inputs[slot] = a.inputs.map((row, i) => (typeof row.id === 'string' ? row : { ...row, id: `ipin-${Date.now()}-${i}` }));
      },
      clear_all_counters: (a) => {
        slotOf(a);
        for (const meter of this.meters.values()) meter.reset();
      }
    };
  }

  execute(action: CommandAction): CommandOutcome {
    return dispatch(this.handlers, action, () => new CommandError(`Unknown action: ${action.type}`, 'unknown_action'));
  }

  configResponse(): GatewayConfig {
    return this.config;
  }

  stats(): object {
    const now = Date.now();
    const rows = this.config.inputs['1'];
    const live = new Set<string>();
    let totalBitrate = 0;
    const inputs: Obj[] = [];
    const flows: Obj[] = [];
    for (const row of rows) {
      const id = String(row.id);
      let meter: Meter | undefined;
      if (row.enabled !== false) {
        live.add(id);
        meter = this.meters.get(id);
        if (!meter) this.meters.set(id, (meter = new Meter(`${this.host.name}/${id}`, now)));
        meter.advance(now);
        totalBitrate += meter.bitrate_bps;
      }
      inputs.push({ ...row, bitrate_bps: meter?.bitrate_bps ?? 0, packets_received: meter?.packets ?? 0 });
      flows.push({
        flow_id: `slot1-${id}`,
        flow_name: row.name ?? id,
        input: { input_type: row.protocol, mode: row.mode, local_addr: row.local_addr },
        outputs: [],
        uptime_secs: meter ? uptimeSecs(meter.started_at, now) : 0
      });
    }
    for (const id of this.meters.keys()) if (!live.has(id)) this.meters.delete(id);
    const uptime = uptimeSecs(this.host.booted_at, now);
    return {
      uptime_secs: uptime,
      chassis_uptime_secs: uptime + CHASSIS_HEAD_START_SECS,
      alarms: this.alarms,
      chassis: this.config.chassis,
      slots: this.config.slots,
      inputs: { '1': inputs },
      outputs: this.config.outputs,
      flows,
      active_flows: live.size,
      total_flows: flows.length,
      total_bitrate_bps: totalBitrate
    };
  }

  health(): object {
    return {
      status: alarmStatus(this.alarms),
      alarms: this.alarms,
      version: this.host.software_version,
      capabilities: ['upgrade'],
      gateway_target: {
        reachable: true,
        target_address: lanAddress(`${this.host.name}/chassis`),
        last_successful_poll_unix: Math.floor(Date.now() / 1000),
        consecutive_failures: 0
      }
    };
  }

  thumbnails(): object[] {
    return this.config.inputs['1']
      .filter((row) => row.enabled !== false)
      .map((row) => ({ flow_id: `slot1-${String(row.id)}`, image_base64: THUMBNAIL_JPEG_BASE64 }));
  }

  ackPayload(commandId: unknown, outcome: CommandOutcome): object {
    const ack: Obj = { command_id: typeof commandId === 'string' ? commandId : '', success: outcome.success };
    if (outcome.data !== undefined && outcome.data !== null) ack.data = outcome.data;
    if (!outcome.success) {
      ack.error = outcome.error ?? 'Command failed';
      ack.error_code = outcome.error_code ?? 'internal_error';
      if (outcome.details !== undefined) ack.details = outcome.details;
    }
    return ack;
  }

  /** Unset optional fields are null, as serde writes them. */
  eventPayload(event: DeviceEvent): object {
    return eventWithNulls(event);
  }
}
