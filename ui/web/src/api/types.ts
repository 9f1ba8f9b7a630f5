/** Shapes of the manager's API, as the UI uses them. */
export type Role = 'viewer' | 'operator' | 'admin' | 'super_admin';
export const ROLES: Role[] = ['viewer', 'operator', 'admin', 'super_admin'];

export function roleAtLeast(role: Role | undefined, minimum: Role): boolean {
  return role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(minimum);
}

export interface User {
  id: string;
  username: string;
  display_name: string | null;
  email: string | null;
  role: Role;
  is_active: boolean;
  expires_at: string | null;
  allowed_node_ids: string[] | null;
  last_login_at: string | null;
  mfa_enabled?: boolean;
  /** Own account only: unused MFA recovery codes. */
  recovery_codes_left?: number;
  created_at: string;
  updated_at: string;
}

export interface DeviceSummary {
  flows_active?: number;
  flows_total?: number;
  tunnels_active?: number;
  tunnels_total?: number;
  bitrate_bps?: number;
  uptime_secs?: number;
  metrics: Record<string, number>;
}

export type NodeStatus = 'pending' | 'online' | 'offline';
export type Health = 'healthy' | 'warning' | 'critical';

export interface Node {
  id: string;
  name: string;
  description: string | null;
  device_type: string;
  status: NodeStatus;
  health: Health | null;
  software_version: string | null;
  protocol_version: number | null;
  capabilities: string[];
  last_seen_at: string | null;
  connected_at: string | null;
  remote_addr: string | null;
  expires_at: string | null;
  metadata: Record<string, unknown>;
  summary: DeviceSummary | null;
  registration_pending: boolean;
  registration_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreatedNode extends Node {
  registration_token: string;
}

export type Severity = 'info' | 'warning' | 'critical';

export interface NodeEvent {
  id: number;
  node_id: string;
  node_name?: string;
  severity: Severity;
  raw_severity: string;
  category: string;
  message: string;
  details: Record<string, unknown> | null;
  flow_id: string | null;
  input_id: string | null;
  output_id: string | null;
  created_at: string;
  acknowledged: boolean;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
}

export interface AlarmCounts {
  count: number;
  critical: number;
  warning: number;
}

export interface CommandInfo {
  name: string;
  description: string;
  requires_role: 'viewer' | 'operator' | 'admin';
  params_schema: Record<string, any>;
  mutates?: boolean;
  timeout_ms?: number;
}

export interface DeviceType {
  device_type: string;
  display_name: string;
  package: string;
  version: string;
  supported_commands: CommandInfo[];
  ui_sections?: string[];
}
