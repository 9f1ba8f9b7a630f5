import type Joi from 'joi';
import type { ManagerPlugin } from '../manager';
import { pluginObject } from '../plugin-object';
import { ConfigError } from './errors';
import { CONFIG_OPTIONS } from './schema';

/**
 * A configuration option a plugin adds to the host's: a config-file key and an environment
 * variable, validated with the host's options at start (an invalid value stops start-up with
 * exit status 2, naming both). The plugin reads its value from `manager.config.plugin_options`.
 */
export interface PluginConfigOption {
  env: string;
  schema: Joi.Schema;
  meaning: string;
  /** Another option of the same plugin that must be set whenever this one is (and the other way round). */
  with?: string;
  /** Its value is a credential: redacted wherever a log line would show it. */
  secret?: boolean;
}

/** A plugin option together with the plugin that declared it. */
export type DeclaredConfigOption = PluginConfigOption & { plugin: string };

/**
 * The options the build's plugins add (`configOptions` on a plugin object, beside hapi's
 * `register`). A key or variable that is the host's or another plugin's is refused.
 */
export function pluginConfigOptions(plugins: readonly ManagerPlugin[]): Record<string, DeclaredConfigOption> {
  const declared: Record<string, DeclaredConfigOption> = {};
  const owners = new Map<string, string>(
    Object.entries(CONFIG_OPTIONS).flatMap(([key, option]) => [
      [key, 'the host'],
      [option.env, 'the host']
    ])
  );
  for (const entry of plugins) {
    const plugin = pluginObject(entry);
    const name = plugin.name ?? plugin.pkg?.name ?? 'a plugin';
    for (const [key, option] of Object.entries(plugin.configOptions ?? {})) {
      for (const id of [key, option.env]) {
        const owner = owners.get(id);
        if (owner) throw new ConfigError(`configuration option ${id} of ${name} is already declared by ${owner}`);
        owners.set(id, name);
      }
      declared[key] = { ...option, plugin: name };
    }
    for (const [key, option] of Object.entries(plugin.configOptions ?? {})) {
      if (option.with && !plugin.configOptions?.[option.with])
        throw new ConfigError(`configuration option ${key} of ${name} names ${option.with}, which it does not declare`);
    }
  }
  return declared;
}
