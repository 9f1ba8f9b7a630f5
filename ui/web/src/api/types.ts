/**
 * Shapes of the manager's API, as the UI uses them: the server packages' own types (imported
 * for type checking only; nothing of them is bundled), with what only the UI adds.
 */
import type { CommandView, DeviceTypeView, Role } from '@bilbycast/core';
import type { RJSFSchema } from '@rjsf/utils';
import type { DeviceHealth, DeviceSummary, EventSeverity } from '@bilbycast/driver-sdk';
import type { AlarmCounts, NodeStatus, NodeView, StoredEvent } from '@bilbycast/nodes';
import type { User as ServerUser } from '@bilbycast/users';

export type { Role };
/** The roles, lowest first (the server's ROLES). */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin', 'super_admin'];

export function roleAtLeast(role: Role | undefined, minimum: Role): boolean {
  return role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(minimum);
}

/** A user as the users API answers (own account: also how many recovery codes are left). */
export type User = ServerUser & { recovery_codes_left?: number };

export type { DeviceSummary, NodeStatus };
export type Health = DeviceHealth;
/** A device's full stats as it sent them: a JSON object whose fields depend on the device. */
export type DeviceStats = Record<string, unknown>;
export type Node = NodeView;

export interface CreatedNode extends Node {
  registration_token: string;
}

export type Severity = EventSeverity;
/** An event as the events API answers it (with the node's name in lists). */
export type NodeEvent = StoredEvent & { node_name?: string };
export type { AlarmCounts };

/** A command with its parameters as JSON Schema (as rjsf reads it). */
export type CommandInfo = Omit<CommandView, 'params_schema'> & { params_schema: RJSFSchema };

export type DeviceType = Omit<DeviceTypeView, 'supported_commands'> & { supported_commands: CommandInfo[] };
