/**
 * bilbycast-relay (PROTOCOL.md §12.3). No edges ever bind tunnels to a
 * simulated relay, so authorised tunnels are listed as `empty` with zero counters and the UDP
 * session list stays empty; two edges are listed as connected, under the ids they gave
 * themselves (with spaces and accents, as real ones may). Failures carry only `error`
 * (relays never send error_code).
 *
 * Like the real relay, its config_response is the configuration the process *started* with,
 * and `rotate_secret` / `configure_distribution` save that configuration plus the change.
 */
import { randomBytes } from 'node:crypto';
import type { CommandAction, CommandOutcome, DeviceEvent } from '../types';
import { CommandError, type Handler, type KindModel, type ModelHost, dispatch, lanAddress, requireString, uptimeSecs } from './common';

type Obj = Record<string, unknown>;

export interface RelayConfig extends Obj {
  quic_addr: string;
  api_addr: string;
  public_quic_addr: string | null;
  api_token: string;
  manager: { enabled: boolean; urls: string[]; accept_self_signed_cert: boolean };
  distribution?: Obj;
}

const REDACTED = '***REDACTED***';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Commands whose successful ack carries `error: null`. */
const NULL_ERROR_ON_SUCCESS = new Set(['rotate_secret', 'configure_distribution']);

export class RelayModel implements KindModel {
  /** The live configuration. */
  readonly config: RelayConfig;
  /** The configuration the process started with: what config_response shows and what a write-back saves (plus the change). */
  private startup: RelayConfig;
  /** What the relay's config file holds: the next start's configuration. */
  private file: RelayConfig;
  private readonly tunnels = new Map<string, { ingress_token: string; egress_token: string; since: number }>();
  private peakTunnels = 0;
  private readonly edges: { edge_id: string; remote_addr: string }[];
  private readonly peakEdges = 2;
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly host: ModelHost) {
    this.config = {
      quic_addr: '0.0.0.0:4433',
      api_addr: '0.0.0.0:4480',
      public_quic_addr: null,
      api_token: randomBytes(16).toString('hex'),
      manager: { enabled: true, urls: [host.url], accept_self_signed_cert: host.insecure }
    };
    this.startup = structuredClone(this.config);
    this.file = structuredClone(this.config);
    this.edges = [
      { edge_id: 'Studio edge 1', remote_addr: `${lanAddress(`${host.name}/edge-1`)}:51000` },
      { edge_id: 'Ü-Wagen 2 (backup)', remote_addr: `${lanAddress(`${host.name}/edge-2`)}:51001` }
    ];
    this.handlers = {
      rotate_secret: (a) => this.host.rotateSecret(requireString(a, 'new_secret')),
      configure_distribution: (a) => {
        const distribution = this.configureDistribution(a);
        this.config.distribution = distribution;
        this.file = { ...structuredClone(this.startup), distribution: structuredClone(distribution) };
        this.host.writeBackStartupConfig();
      },
      authorize_tunnel: (a) => {
        const id = requireString(a, 'tunnel_id');
        if (!UUID.test(id)) throw new CommandError(`invalid tunnel_id '${id}': expected a UUID`);
        this.tunnels.set(id, { ingress_token: requireString(a, 'ingress_token'), egress_token: requireString(a, 'egress_token'), since: Date.now() });
        this.peakTunnels = Math.max(this.peakTunnels, this.tunnels.size);
      },
      revoke_tunnel: (a) => {
        this.tunnels.delete(requireString(a, 'tunnel_id'));
      },
      close_tunnel: (a) => {
        const id = requireString(a, 'tunnel_id');
        const tunnel = this.tunnels.get(id);
        if (!tunnel) throw new CommandError(`Tunnel ${id} not found`);
        tunnel.since = Date.now();
      },
      close_udp_session: (a) => {
        throw new CommandError(`UDP session for tunnel ${requireString(a, 'tunnel_id')} not found`);
      },
      disconnect_edge: (a) => {
        const id = requireString(a, 'edge_id');
        const index = this.edges.findIndex((edge) => edge.edge_id === id);
        if (index < 0) throw new CommandError(`Edge ${id} is not connected`);
        this.edges.splice(index, 1);
        this.host.raiseEvent({ severity: 'info', category: 'edge', message: `Edge ${id} disconnected` });
      },
      list_tunnels: () => this.tunnelList(Date.now()),
      list_edges: () => this.edges.map((edge) => ({ ...edge })),
      list_udp_sessions: () => []
    };
  }

  execute(action: CommandAction): CommandOutcome {
    const outcome = dispatch(this.handlers, action, () => new CommandError(`Unknown relay command: ${action.type}`));
    return NULL_ERROR_ON_SUCCESS.has(action.type) ? { ...outcome, error: null } : outcome;
  }

  /** The startup configuration: a process that registered since still shows its (spent) token, in clear, and no node id. */
  configResponse(): object {
    const manager: Obj = { ...this.startup.manager };
    const credentials = this.host.credentials;
    if (this.host.startup_token !== undefined) {
      manager.registration_token = this.host.startup_token;
    } else if (credentials) {
      manager.node_id = credentials.node_id;
      manager.node_secret = REDACTED;
    }
    return { ...structuredClone(this.startup), api_token: REDACTED, manager };
  }

  /** A restart loads the config file; tunnels, sessions and peaks (memory only) are gone. */
  restarted(): void {
    Object.assign(this.config, structuredClone(this.file));
    if (!this.file.distribution) delete this.config.distribution;
    this.startup = structuredClone(this.file);
    this.tunnels.clear();
    this.peakTunnels = 0;
  }

  stats(): object {
    const now = Date.now();
    const payload: Obj = {
      tunnels: this.tunnelList(now),
      udp_sessions: [],
      udp_sessions_total: 0,
      udp_sessions_active: 0,
      edges: this.edges.map((edge) => ({ ...edge })),
      connected_edges: this.edges.length,
      active_tunnels: 0,
      total_tunnels: this.tunnels.size,
      total_bytes_ingress: 0,
      total_bytes_egress: 0,
      total_bytes_forwarded: 0,
      total_bandwidth_bps: 0,
      total_tcp_streams: 0,
      active_tcp_streams: 0,
      total_udp_datagrams: 0,
      peak_tunnels: this.peakTunnels,
      peak_edges: this.edges.length > this.peakEdges ? this.edges.length : this.peakEdges,
      connections_total: 0,
      uptime_secs: uptimeSecs(this.host.booted_at, now)
    };
    if (this.config.distribution) payload.distribution = this.distributionStats();
    return payload;
  }

  health(): object {
    const lan = lanAddress(this.host.name);
    const health: Obj = {
      status: 'ok',
      version: this.host.software_version,
      uptime_secs: uptimeSecs(this.host.booted_at, Date.now()),
      connected_edges: this.edges.length,
      active_tunnels: 0,
      total_tunnels: this.tunnels.size,
      total_bytes_forwarded: 0,
      peak_tunnels: this.peakTunnels,
      peak_edges: this.edges.length > this.peakEdges ? this.edges.length : this.peakEdges,
      connections_total: 0,
      api_addr: `${lan}:4480`,
      quic_addr: `${lan}:4433`,
      public_quic_addr: this.config.public_quic_addr,
      public_udp_addr: null,
      udp_sessions_total: 0,
      udp_sessions_active: 0,
      capabilities: ['udp-relay', 'viewer-distribution']
    };
    const distribution = this.config.distribution;
    if (distribution) {
      health.distribution = this.distributionStats();
      if (typeof distribution.public_base_url === 'string') health.distribution_base_url = distribution.public_base_url;
    }
    return health;
  }

  thumbnails(): object[] {
    return [];
  }

  ackPayload(commandId: unknown, outcome: CommandOutcome): object {
    const ack: Obj = { command_id: typeof commandId === 'string' ? commandId : '', success: outcome.success };
    if (outcome.data !== undefined) ack.data = outcome.data;
    if (!outcome.success) ack.error = outcome.error ?? 'Command failed';
    else if (outcome.error === null) ack.error = null;
    return ack;
  }

  /** Unset optional fields are null, as serde writes them. */
  eventPayload(event: DeviceEvent): object {
    return { severity: event.severity, category: event.category, message: event.message, details: event.details ?? null, flow_id: event.flow_id ?? null };
  }

  private tunnelList(now: number): object[] {
    const list: object[] = [];
    for (const [id, tunnel] of this.tunnels) {
      list.push({
        tunnel_id: id,
        status: 'empty',
        stats: {
          bytes_ingress: 0,
          bytes_egress: 0,
          tcp_streams_total: 0,
          tcp_streams_active: 0,
          udp_datagrams_total: 0,
          uptime_secs: uptimeSecs(tunnel.since, now)
        }
      });
    }
    return list;
  }

  private distributionStats(): object {
    return { streams: 0, viewers: 0, bytes_out: 0, origin_bytes: 0, offpath_sessions: 0 };
  }

  /** The distribution block after the command (validated like the relay does). */
  private configureDistribution(action: CommandAction): Obj {
    const next: Obj = { ...this.config.distribution };
    if (action.token_secret !== undefined) {
      if (typeof action.token_secret !== 'string' || !/^[0-9a-fA-F]{64}$/.test(action.token_secret)) {
        throw new CommandError('token_secret must be 64 hex characters');
      }
      next.token_secret = action.token_secret;
    }
    for (const key of ['require_viewer_token', 'require_ingest_token']) {
      if (action[key] === undefined) continue;
      if (typeof action[key] !== 'boolean') throw new CommandError(`${key} must be a boolean`);
      next[key] = action[key];
    }
    if (action.public_ip !== undefined) {
      if (typeof action.public_ip !== 'string') throw new CommandError('public_ip must be a string');
      next.public_ip = action.public_ip;
    }
    if (action.public_base_url !== undefined) {
      if (typeof action.public_base_url !== 'string' || !/^https?:\/\//.test(action.public_base_url)) {
        throw new CommandError('public_base_url must be an http or https URL');
      }
      next.public_base_url = action.public_base_url;
    }
    if (action.cascade_sources !== undefined) {
      if (!Array.isArray(action.cascade_sources)) throw new CommandError('cascade_sources must be a list');
      next.cascade_sources = action.cascade_sources;
    }
    return next;
  }
}
