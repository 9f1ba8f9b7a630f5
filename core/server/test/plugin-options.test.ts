import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogCapture, createTestDatabase, testConfig } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { ConfigError, createManager, loadConfig, type PluginConfigOption } from '../src';

const SECRET = 'Sup3r-Secret-Value';

/** A plugin with a secret option, a defaulted list and a pair, that logs what it was given at start. */
function gadgets(configOptions: Record<string, PluginConfigOption> = gadgetOptions): Plugin<unknown> & { configOptions: Record<string, PluginConfigOption> } {
  return {
    name: 'gadgets',
    configOptions,
    register(server) {
      server.ext('onPreStart', () => {
        server.manager.logger.info({ options: server.manager.config.plugin_options }, 'gadget options');
      });
    }
  };
}
const gadgetOptions: Record<string, PluginConfigOption> = {
  gadget_key: { env: 'BILBYCAST_GADGET_KEY', schema: Joi.string().pattern(/^k-/), meaning: 'a key', secret: true },
  gadget_hosts: { env: 'BILBYCAST_GADGET_HOSTS', schema: Joi.array().items(Joi.string()).default(['a']), meaning: 'hosts' }
};

function thrown(work: () => unknown): string {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('plugin configuration options', () => {
  it('never echo a secret option’s value in an error, whatever its schema says', () => {
    const message = thrown(() => loadConfig({ env: { BILBYCAST_GADGET_KEY: SECRET }, plugins: [gadgets()] }));
    expect(message).toBe(
      'invalid configuration: "gadget_key" is not valid (its value is not shown: it is a secret) (BILBYCAST_GADGET_KEY or "gadget_key" in the config file)'
    );
  });

  it('split lists given in the environment, as the host’s are', () => {
    expect(loadConfig({ env: { BILBYCAST_GADGET_HOSTS: 'x, y,,z' }, plugins: [gadgets()] }).plugin_options).toEqual({ gadget_hosts: ['x', 'y', 'z'] });
  });

  it('cannot be set as plugin_options from a file or code, and a plugin cannot name one so', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-plugin-options-'));
    try {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, JSON.stringify({ plugin_options: { gadget_key: 'k-1' } }));
      expect(thrown(() => loadConfig({ file, env: {}, plugins: [gadgets()] }))).toBe('unknown option "plugin_options" in the config file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(thrown(() => loadConfig({ env: {}, plugins: [gadgets({ plugin_options: { env: 'BILBYCAST_PO', schema: Joi.any(), meaning: '' } })] }))).toBe(
      'configuration option plugin_options of gadgets is already declared by the host'
    );
  });

  it.each([
    [
      { 'gadget.key': { env: 'BILBYCAST_GK', schema: Joi.string(), meaning: '' } },
      'configuration option "gadget.key" of gadgets must be lower-case snake case (a-z, 0-9, _)'
    ],
    [
      { gadget_key: { env: 'bilbycast_gk', schema: Joi.string(), meaning: '' } },
      'environment variable "bilbycast_gk" of gadgets must be upper-case (A-Z, 0-9, _)'
    ]
  ])('refuse a key or variable of another shape: %j', (options, message) => {
    expect(thrown(() => loadConfig({ env: {}, plugins: [gadgets(options)] }))).toBe(message);
  });

  it('reach a manager built from a config loaded without the plugin: defaults filled, values checked, set variables warned about', async () => {
    const database = await createTestDatabase('sqlite');
    try {
      const logs = new LogCapture();
      process.env.BILBYCAST_GADGET_KEY = 'k-ignored';
      let manager;
      try {
        manager = await createManager({ config: testConfig(database, { log_level: 'info' }), plugins: [gadgets()], logDestination: logs });
      } finally {
        delete process.env.BILBYCAST_GADGET_KEY;
      }
      await manager.initialize();
      await manager.stop();
      expect(logs.entries().find((e) => e.msg === 'gadget options')?.options).toEqual({ gadget_hosts: ['a'] });
      expect(logs.entries().find((e) => String(e.msg).startsWith('environment variables of plugin options ignored'))?.variables).toEqual([
        'BILBYCAST_GADGET_KEY'
      ]);

      const handBuilt = { ...testConfig(database), plugin_options: { gadget_key: SECRET } };
      const refused = await createManager({ config: handBuilt, plugins: [gadgets()] }).then(
        () => 'built',
        (err: Error) => err.message
      );
      expect(refused).toBe('invalid configuration: "gadget_key" is not valid (its value is not shown: it is a secret)');
    } finally {
      await database.cleanup();
    }
  });

  it('marked secret are redacted wherever a log line holds them', async () => {
    const database = await createTestDatabase('sqlite');
    try {
      const logs = new LogCapture();
      const config = testConfig(database, { log_level: 'info', gadget_key: 'k-very-secret' }, [gadgets()]);
      const manager = await createManager({ config, plugins: [gadgets()], logDestination: logs });
      await manager.initialize();
      await manager.stop();
      expect(logs.entries().find((e) => e.msg === 'gadget options')?.options).toEqual({ gadget_key: '[redacted]', gadget_hosts: ['a'] });
      expect(JSON.stringify(logs.entries())).not.toContain('k-very-secret');
    } finally {
      await database.cleanup();
    }
  });
});
