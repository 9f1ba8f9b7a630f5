export * from './common';
export { INPUT_TYPES, inputConfigSchema, inputDefinitionSchema, inputVariants } from './inputs';
export { OUTPUT_TYPES, outputConfigSchema, outputVariants } from './outputs';
export { appConfigSchema, flowConfigSchema, flowGroupSchema, tunnelConfigSchema } from './flows';
