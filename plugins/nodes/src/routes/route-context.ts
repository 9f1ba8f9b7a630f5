import { boundContext, type AuditLog, type DriverRegistry } from '@bilbycast/core';
import type { ResponseToolkit } from '@hapi/hapi';
import type { NodeDirectory } from '../services/node-directory';
import type { NodeService } from '../services/node-service';

/** What the `/api/v1/nodes…` routes are bound to (`server.bind` in the plugin's register). */
export interface NodesRouteContext {
  directory: NodeDirectory;
  /** The live side of nodes; its `commands` sends commands, fetches configs and rotates secrets. */
  nodes: NodeService;
  drivers: DriverRegistry;
  audit: AuditLog;
  /** Chart history: one point per this many milliseconds. */
  historyIntervalMs: number;
}

export function contextOf(h: ResponseToolkit): NodesRouteContext {
  return boundContext<NodesRouteContext>(h, 'nodes');
}
