import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_OPTIONS, type PluginConfigOption } from '@bilbycast/core';
import { defaultManifest } from '../src';

/** The options the standard build's plugins add, as each plugin object declares them. */
function pluginOptions(): [string, PluginConfigOption][] {
  return defaultManifest.plugins.flatMap((entry) => {
    const plugin = ('plugin' in entry ? entry.plugin : entry) as { configOptions?: Record<string, PluginConfigOption> };
    return Object.entries(plugin.configOptions ?? {});
  });
}

describe('README configuration table of the standard build', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

  it('has the users plugin’s bootstrap options', () => {
    expect(pluginOptions().map(([key]) => key)).toEqual(expect.arrayContaining(['admin_username', 'admin_password']));
  });

  it.each(pluginOptions())('documents the plugin option %s with its environment variable', (key, option) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`\`${option.env}\``);
  });

  it('documents no option that does not exist', () => {
    const documented = readme
      .split('\n')
      .map((line) => /^\| `([a-z_]+)` \| `BILBYCAST_/.exec(line)?.[1])
      .filter((key): key is string => key !== undefined);
    expect(documented.sort()).toEqual([...Object.keys(CONFIG_OPTIONS), ...pluginOptions().map(([key]) => key)].sort());
  });
});
