import type { CliContribution } from './cli/plugin-commands';
import type { PluginConfigOption } from './config/plugin-options';
import type { ManagerPlugin } from './manager';

/** What the host reads from a plugin object besides hapi's `register`: its commands and configuration options. */
export interface PluginExtras {
  name?: string;
  pkg?: { name?: string };
  cli?: CliContribution;
  configOptions?: Record<string, PluginConfigOption>;
}

/** The plugin of a manifest entry, in each form hapi registers: the plugin, `{ plugin, options }`, or `{ plugin: { plugin } }` (a required module). */
export function pluginObject(entry: ManagerPlugin): PluginExtras {
  if (!('plugin' in entry)) return entry as PluginExtras;
  const wrapped = entry.plugin as PluginExtras & { register?: unknown; plugin?: PluginExtras };
  return wrapped.register ? wrapped : (wrapped.plugin ?? {});
}
