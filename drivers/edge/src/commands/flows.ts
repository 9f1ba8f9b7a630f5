import { Joi } from '@bilbycast/driver-sdk';
import { flowConfigSchema, idSchema, opaque, spliceMode } from '../schemas';
import { command } from './common';

const flowId = idSchema.required().description('Flow id');

export const flowCommands = [
  command('create_flow', 'Create a flow (duplicate id is an error)', {
    flow: flowConfigSchema.required()
  }),
  command('update_flow', 'Replace a flow (diff-applied; creates it if absent)', {
    flow_id: flowId,
    flow: flowConfigSchema.required()
  }),
  command('delete_flow', 'Stop and delete a flow', { flow_id: flowId }),
  command('start_flow', 'Start a flow (persists enabled: true)', { flow_id: flowId }),
  command('stop_flow', 'Stop a flow (persists enabled: false)', { flow_id: flowId }),
  command('restart_flow', 'Restart a flow', { flow_id: flowId }),
  command('update_flow_assembly', 'Change the PID-bus / program assembly of a running flow', {
    flow_id: flowId,
    assembly: opaque.required().description('Flow assembly'),
    splice_mode_override: spliceMode.description('Splice mode: pmt_bump or pes_aligned')
  }),
  command('reset_counters', 'Reset the cumulative counters of a flow', {
    flow_id: flowId,
    scope: Joi.string().max(64).default('all').description('What to reset (default all)')
  }),
  command('set_master_clock_lipsync', 'Set the master-clock lip-sync offset of a flow', {
    flow_id: flowId,
    lipsync_offset_90k: Joi.number().integer().min(-18000).max(18000).required().description('Offset in 90 kHz ticks (±18000 = ±200 ms)')
  })
];
