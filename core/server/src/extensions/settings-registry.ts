import type Joi from 'joi';
import { ConfigError } from '../config/errors';
import type { ClusterBus } from './cluster-bus';

/** A live-tunable setting a plugin declares: changed at run time without a restart. */
export interface SettingDefinition<T = unknown> {
  /** Lower-case snake case, unique across plugins, e.g. `node_offline_threshold_secs` (the settings API's key). */
  key: string;
  /** The joi schema of a value, with its range. */
  schema: Joi.Schema<T>;
  default: T;
  description: string;
  /** The config file/environment option that seeds the value at start, and its value there (if set). */
  seed?: { option: string; value: T | undefined };
}

export interface SettingState {
  key: string;
  owner: string;
  description: string;
  default: unknown;
  value: unknown;
  /** Where the current value comes from. */
  source: 'default' | 'config' | 'changed';
  seed_option: string | null;
}

export class SettingError extends Error {
  constructor(
    readonly code: 'unknown_setting' | 'invalid_setting',
    message: string
  ) {
    super(message);
  }
}

declare module './cluster-bus' {
  interface BusTopics {
    /** A setting changed (on any instance); every instance applies it. */
    'settings.changed': { key: string; value: unknown };
  }
}

const KEY = /^[a-z][a-z0-9_]{0,63}$/;

/** joi's answer with the value as `unknown`: what it holds is for the setting's owner to read. */
function validate(schema: Joi.Schema, value: unknown): { error?: Joi.ValidationError; value: unknown } {
  return schema.validate(value);
}

interface Entry {
  owner: string;
  definition: SettingDefinition;
  value: unknown;
  source: SettingState['source'];
  listeners: Set<{ listener: (value: unknown) => unknown }>;
  /** Counts applied changes: a delivery superseded by a newer change (made by a listener) stops. */
  version: number;
}

/**
 * The live-tunable settings every plugin declares at registration: their schema, default,
 * description and seeding option. The settings plugin stores, serves and changes them through
 * `change`; the owning plugin hears changes through `onChange`. A change travels on the
 * cluster bus, so every instance applies it.
 */
export class SettingsRegistry {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly bus: ClusterBus,
    private readonly onListenerError: (key: string, error: unknown) => void
  ) {
    bus.subscribe('settings.changed', ({ key, value }) => this.#apply(key, value));
  }

  declare<T>(owner: string, definition: SettingDefinition<T>): void {
    if (!KEY.test(definition.key))
      throw new Error(`${owner}: setting key "${definition.key}" must be lower-case snake case (a-z, 0-9, _), at most 64 characters`);
    const known = this.#entries.get(definition.key);
    if (known) throw new Error(`${owner}: setting "${definition.key}" is already declared by ${known.owner}`);
    const { error: defaultError } = validate(definition.schema, definition.default);
    if (defaultError) throw new Error(`${owner}: setting "${definition.key}": the default is invalid: ${defaultError.message}`);
    const seeded = definition.seed?.value !== undefined;
    let value: unknown = validate(definition.schema, definition.default).value;
    if (definition.seed && seeded) {
      // The operator's configuration, not the plugin, is wrong: a configuration error (exit status 2).
      const { error, value: valid } = validate(definition.schema, definition.seed.value);
      if (error) throw new ConfigError(`${definition.seed.option}: ${error.message.replace(/^"value" /, '')} (setting ${definition.key})`);
      value = valid;
    }
    this.#entries.set(definition.key, {
      owner,
      definition,
      value,
      source: seeded ? 'config' : 'default',
      listeners: new Set(),
      version: 0
    });
  }

  get<T = unknown>(key: string): T {
    return this.#entry(key).value as T;
  }

  list(): SettingState[] {
    return [...this.#entries].map(([key, e]) => ({
      key,
      owner: e.owner,
      description: e.definition.description,
      default: e.definition.default,
      value: e.value,
      source: e.source,
      seed_option: e.definition.seed?.option ?? null
    }));
  }

  /** The schema of a setting (for validation messages and forms). */
  schema(key: string): Joi.Schema {
    return this.#entry(key).definition.schema;
  }

  /** Validates and applies a new value everywhere; the value as applied (joi may convert it). */
  change(key: string, value: unknown): unknown {
    const entry = this.#entry(key);
    const { error, value: valid } = validate(entry.definition.schema, value);
    if (error) throw new SettingError('invalid_setting', `${key}: ${error.message}`);
    this.bus.publish('settings.changed', { key, value: valid });
    return valid;
  }

  /** Hears the setting's changes (from any instance); returns the function that stops it. */
  onChange<T = unknown>(key: string, listener: (value: T) => unknown): () => void {
    const listeners = this.#entry(key).listeners;
    const subscription = { listener: listener as (value: unknown) => unknown };
    listeners.add(subscription);
    return () => listeners.delete(subscription);
  }

  #entry(key: string): Entry {
    const entry = this.#entries.get(key);
    if (!entry) throw new SettingError('unknown_setting', `no setting "${key}"`);
    return entry;
  }

  #apply(key: string, value: unknown): void {
    const entry = this.#entries.get(key);
    // Another instance may run a build with more plugins: a setting unknown here is not ours.
    if (!entry) return;
    // Checked again on arrival (a message may come from another build), and converted back from
    // its JSON form (a date travels as a string).
    const { error, value: valid } = validate(entry.definition.schema, value);
    if (error) {
      this.onListenerError(key, new SettingError('invalid_setting', `a change of ${key} arrived invalid and was ignored: ${error.message}`));
      return;
    }
    entry.value = valid;
    entry.source = 'changed';
    const version = ++entry.version;
    for (const subscription of [...entry.listeners]) {
      // A listener that changed the setting again has had the newer value delivered to everyone: stop here.
      if (entry.version !== version) return;
      if (entry.listeners.has(subscription)) this.#notify(key, subscription.listener, valid);
    }
  }

  #notify(key: string, listener: (value: unknown) => unknown, value: unknown): void {
    try {
      const result = listener(value);
      if (result instanceof Promise) result.catch((error: unknown) => this.onListenerError(key, error));
    } catch (error) {
      this.onListenerError(key, error);
    }
  }
}
