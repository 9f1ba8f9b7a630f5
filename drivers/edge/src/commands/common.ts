import type { CommandDefinition, CommandRole } from '@bilbycast/driver-sdk';
import { Joi } from '@bilbycast/driver-sdk';

/** Timeouts per PROTOCOL.md §8.3. */
export const DEFAULT_TIMEOUT_MS = 15_000;
export const UPDATE_CONFIG_TIMEOUT_MS = 60_000;
export const UPGRADE_TIMEOUT_MS = 180_000;
export const TEST_TIMEOUT_MS = 30_000;

export function command(
  name: string,
  description: string,
  params: Record<string, Joi.Schema>,
  options: { role?: CommandRole; mutates?: boolean; timeout_ms?: number; config_param?: string } = {}
): CommandDefinition {
  const definition: CommandDefinition = {
    name,
    description,
    requires_role: options.role ?? 'operator',
    params: Joi.object(params),
    timeout_ms: options.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    mutates: options.mutates ?? true
  };
  if (options.config_param) definition.config_param = options.config_param;
  return definition;
}
