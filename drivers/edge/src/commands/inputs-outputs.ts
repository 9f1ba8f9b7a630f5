import { Joi } from '@bilbycast/driver-sdk';
import { idSchema, inputDefinitionSchema, outputConfigSchema, spliceMode } from '../schemas';
import { TEST_TIMEOUT_MS, command } from './common';

const flowId = idSchema.required().description('Flow id');
const inputId = idSchema.required().description('Input id');
const outputId = idSchema.required().description('Output id');

export const inputOutputCommands = [
  command('add_output', 'Add an output to a flow (hot; other outputs untouched)', {
    flow_id: flowId,
    output: outputConfigSchema.required()
  }),
  command('remove_output', 'Remove an output from a flow', { flow_id: flowId, output_id: outputId }),
  command('add_input', 'Add an input to a flow', { flow_id: flowId, input: inputDefinitionSchema.required() }),
  command('remove_input', 'Remove an input from a flow', { flow_id: flowId, input_id: inputId }),
  command('create_input', 'Create a top-level input', { input: inputDefinitionSchema.required() }),
  command('update_input', 'Replace a top-level input', { input_id: inputId, input: inputDefinitionSchema.required() }),
  command('delete_input', 'Delete a top-level input', { input_id: inputId }),
  command('create_output', 'Create a top-level output', { output: outputConfigSchema.required() }),
  command('update_output', 'Replace a top-level output', { output_id: outputId, output: outputConfigSchema.required() }),
  command('delete_output', 'Delete a top-level output', { output_id: outputId }),
  command('activate_input', 'Make an input the active input of its flow', {
    flow_id: flowId,
    input_id: inputId,
    splice_mode_override: spliceMode.description('Splice mode: pmt_bump or pes_aligned')
  }),
  command('activate_output', 'Enable or disable an output of a flow', {
    flow_id: flowId,
    output_id: outputId,
    active: Joi.boolean().required().description('true to send, false to pause')
  }),
  command(
    'test_input',
    'Probe an input that is not in a running flow and report',
    { input_id: inputId },
    {
      mutates: false,
      timeout_ms: TEST_TIMEOUT_MS
    }
  ),
  command(
    'test_output',
    'Probe an output that is not in a running flow and report',
    { output_id: outputId },
    {
      mutates: false,
      timeout_ms: TEST_TIMEOUT_MS
    }
  )
];
