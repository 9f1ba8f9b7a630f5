import type Joi from 'joi';
import type { ManagerPlugin } from '../manager';
import { pluginObject } from '../plugin-object';
import { ConfigError } from './errors';
import { CONFIG_OPTIONS, configSchema, type ManagerConfig } from './schema';

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

const OPTION_KEY = /^[a-z][a-z0-9_]*$/;
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/** A plugin option together with the plugin that declared it. */
export type DeclaredConfigOption = PluginConfigOption & { plugin: string };

/**
 * The options the build's plugins add (`configOptions` on a plugin object, beside hapi's
 * `register`). A key or variable that is the host's or another plugin's is refused.
 */
export function pluginConfigOptions(plugins: readonly ManagerPlugin[]): Record<string, DeclaredConfigOption> {
  const declared: Record<string, DeclaredConfigOption> = {};
  const owners = new Map<string, string>([
    ['plugin_options', 'the host'],
    ...Object.entries(CONFIG_OPTIONS).flatMap(([key, option]): [string, string][] => [
      [key, 'the host'],
      [option.env, 'the host']
    ])
  ]);
  for (const entry of plugins) {
    const plugin = pluginObject(entry);
    const name = plugin.name ?? plugin.pkg?.name ?? 'a plugin';
    for (const [key, option] of Object.entries(plugin.configOptions ?? {})) {
      // Keys become pino redaction paths and config-file keys; variables are matched case-sensitively.
      if (!OPTION_KEY.test(key)) throw new ConfigError(`configuration option "${key}" of ${name} must be lower-case snake case (a-z, 0-9, _)`);
      if (!ENV_NAME.test(option.env)) throw new ConfigError(`environment variable "${option.env}" of ${name} must be upper-case (A-Z, 0-9, _)`);
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

/** The host's options and the plugins', by key: what the config file and the environment may set. */
export function envOptions(declared: Readonly<Record<string, DeclaredConfigOption>>): Record<string, { env: string; schema: Joi.Schema; secret?: boolean }> {
  return { ...CONFIG_OPTIONS, ...declared };
}

/**
 * The plugin options a manager runs with: those of `config` (as loadConfig read them) checked
 * again against the plugins given to createManager, with their defaults — a config built by hand
 * or loaded without the plugins gets them too. Also the variables that are set but not in the
 * config (it was loaded without their plugin), to warn about.
 */
export function settlePluginOptions(
  config: ManagerConfig,
  declared: Readonly<Record<string, DeclaredConfigOption>>,
  env: NodeJS.ProcessEnv = process.env
): { plugin_options: Record<string, unknown>; ignoredVariables: string[] } {
  const given = config.plugin_options;
  const result = configSchema(declared, false).validate(given, { abortEarly: true, allowUnknown: true }) as Joi.ValidationResult<Record<string, unknown>>;
  if (result.error) throw new ConfigError(`invalid configuration: ${optionErrorMessage(result.error, declared)}`);
  const value = result.value;
  const ignoredVariables = Object.entries(declared).flatMap(([key, option]) => (env[option.env] && !(key in given) ? [option.env] : []));
  return { plugin_options: value, ignoredVariables };
}

/** A validation error's message, without the value when the option is a secret (joi quotes values in some messages). */
export function optionErrorMessage(error: Joi.ValidationError, options: Readonly<Record<string, { secret?: boolean }>>): string {
  const key = String(error.details[0]?.path[0] ?? '');
  return options[key]?.secret ? `"${key}" is not valid (its value is not shown: it is a secret)` : error.message;
}
