import fs from 'node:fs';
import path from 'node:path';
import type Joi from 'joi';
import type { ManagerPlugin } from '../manager';
import { configSchema, resolvePaths, type ConfigKey, type ManagerConfig } from './schema';
import { ConfigError } from './errors';
import { envOptions, optionErrorMessage, pluginConfigOptions } from './plugin-options';

export interface LoadConfigOptions {
  /** Path of an optional JSON config file whose keys are the option names. */
  file?: string;
  /** Environment to read BILBYCAST_* variables from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Defaults of the caller's own, below the config file (for example a CLI command's log level). */
  defaults?: Partial<Record<ConfigKey, unknown>>;
  /** Options set by code (for example tests or an integrator's build), plugins' too; env overrides them. */
  overrides?: Partial<Record<ConfigKey, unknown>> & Record<string, unknown>;
  /** The build's plugins: the options they add are accepted and validated with the host's (else refused as unknown). */
  plugins?: readonly ManagerPlugin[];
  /** Relative paths (from any source) resolve against this folder (default: the current directory). */
  cwd?: string;
}

/**
 * Builds the configuration: schema defaults, caller defaults, the config file, code overrides, then the
 * environment. Anything invalid throws a ConfigError naming the option and its source.
 */
export function loadConfig(options: LoadConfigOptions = {}): ManagerConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const raw: Record<string, unknown> = { ...options.defaults, ...readConfigFile(options.file, cwd), ...options.overrides };
  const pluginOptions = pluginConfigOptions(options.plugins ?? []);
  const allOptions = envOptions(pluginOptions);

  for (const [key, option] of Object.entries(allOptions)) {
    const value = env[option.env];
    if (value === undefined || value === '') continue;
    // Lists are comma-separated in the environment.
    raw[key] =
      option.schema.type === 'array'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value;
  }

  const result = configSchema(pluginOptions).validate(raw, { abortEarly: true, convert: true }) as Joi.ValidationResult<Record<string, unknown>>;
  if (result.error) {
    const { error } = result;
    const detail = error.details[0];
    const key = String(detail.path[0] ?? '');
    const envName = allOptions[key]?.env;
    const where = envName ? ` (${envName} or "${key}" in the config file)` : '';
    const message =
      detail.type === 'object.unknown'
        ? `unknown option "${key}" in the config file`
        : `invalid configuration: ${optionErrorMessage(error, allOptions)}${where}`;
    throw new ConfigError(message);
  }
  const hostValues = Object.fromEntries(Object.entries(result.value).filter(([key]) => !(key in pluginOptions)));
  const plugin_options = Object.fromEntries(Object.entries(result.value).filter(([key]) => key in pluginOptions));
  return resolvePaths({ ...(hostValues as Omit<ManagerConfig, 'plugin_options'>), plugin_options }, cwd);
}

function readConfigFile(file: string | undefined, cwd: string): Record<string, unknown> {
  if (!file) return {};
  const fullPath = path.resolve(cwd, file);
  let text: string;
  try {
    text = fs.readFileSync(fullPath, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${fullPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${fullPath} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${fullPath} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
