import type { CommandDefinition } from '@bilbycast/driver-sdk';
import { flowCommands } from './flows';
import { inputOutputCommands } from './inputs-outputs';
import { tunnelCommands } from './tunnels';
import { flowGroupCommands } from './flow-groups';
import { ptpCommands } from './ptp';
import { systemCommands } from './system';

export * from './common';

/** Every edge command the driver publishes. */
export const edgeCommands: CommandDefinition[] = [
  ...systemCommands,
  ...flowCommands,
  ...inputOutputCommands,
  ...tunnelCommands,
  ...flowGroupCommands,
  ...ptpCommands
];
