import { Joi } from '@bilbycast/driver-sdk';
import { appConfigSchema } from '../schemas';
import { UPDATE_CONFIG_TIMEOUT_MS, UPGRADE_TIMEOUT_MS, command } from './common';

export const systemCommands = [
  command('get_config', 'Fetch the node configuration (answered by config_response, no ack)', {}, { mutates: false }),
  command(
    'update_config',
    'Replace the whole node configuration (diff-applied; version must be 2)',
    { config: appConfigSchema.required() },
    { timeout_ms: UPDATE_CONFIG_TIMEOUT_MS, config_param: 'config' }
  ),
  command(
    'rotate_secret',
    'Rotate the node secret',
    { new_secret: Joi.string().min(16).max(512).required().description('New node secret') },
    { role: 'admin' }
  ),
  command(
    'upgrade_binary',
    'Download, verify and stage a new edge release, then restart into it',
    {
      version: Joi.string()
        .pattern(/^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/, 'semver')
        .required()
        .description('Target version'),
      channel: Joi.string().valid('stable', 'beta', 'nightly').required().description('Release channel'),
      target_arch: Joi.string()
        .pattern(/^[a-z0-9_-]{1,32}$/)
        .description('Target architecture (default: this node)'),
      variant: Joi.string()
        .pattern(/^[a-z0-9_-]{1,32}$/)
        .description('Build variant')
    },
    { role: 'admin', timeout_ms: UPGRADE_TIMEOUT_MS }
  )
];
