import { flowGroupSchema, idSchema } from '../schemas';
import { command } from './common';

const groupId = idSchema.required().description('Flow group id');
const flowId = idSchema.required().description('Flow id');

export const flowGroupCommands = [
  command('start_flow_group', 'Start every member flow (all-or-nothing with rollback)', { flow_group_id: groupId }),
  command('stop_flow_group', 'Stop every member flow (best effort)', { flow_group_id: groupId }),
  command('remove_flow_group', 'Delete a flow group', { flow_group_id: groupId }),
  command('add_flow_group', 'Create a flow group', { flow_group: flowGroupSchema.required() }),
  command('update_flow_group', 'Replace a flow group', { flow_group_id: groupId, flow_group: flowGroupSchema.required() }),
  command('add_essence_flow', 'Add a flow to a flow group', { flow_group_id: groupId, flow_id: flowId }),
  command('remove_essence_flow', 'Remove a flow from a flow group', { flow_group_id: groupId, flow_id: flowId })
];
