import type Joi from 'joi';
import type { ClusterBus } from './cluster-bus';

/** A live-tunable setting a plugin declares: changed at run time without a restart. */
export interface SettingDefinition<T = unknown> {
  /** `<plugin>.<name>`, lower case, e.g. `nodes.offline_after_secs`. */
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

const KEY = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

interface Entry {
  owner: string;
  definition: SettingDefinition;
  value: unknown;
  source: SettingState['source'];
  listeners: Set<(value: unknown) => void>;
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
    if (!KEY.test(definition.key)) throw new Error(`setting key "${definition.key}" must look like plugin.name (lower case)`);
    if (this.#entries.has(definition.key)) throw new Error(`setting "${definition.key}" is already declared by ${this.#entries.get(definition.key)!.owner}`);
    const checked = (value: unknown, what: string) => {
      const { error, value: valid } = definition.schema.validate(value);
      if (error) throw new Error(`setting "${definition.key}": ${what} is invalid: ${error.message}`);
      return valid;
    };
    const seeded = definition.seed?.value !== undefined;
    this.#entries.set(definition.key, {
      owner,
      definition: definition as SettingDefinition,
      value: seeded ? checked(definition.seed!.value, `the value of ${definition.seed!.option}`) : checked(definition.default, 'the default'),
      source: seeded ? 'config' : 'default',
      listeners: new Set()
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
    const { error, value: valid } = entry.definition.schema.validate(value);
    if (error) throw new SettingError('invalid_setting', `${key}: ${error.message}`);
    this.bus.publish('settings.changed', { key, value: valid });
    return valid;
  }

  /** Hears the setting's changes (from any instance); returns the function that stops it. */
  onChange<T = unknown>(key: string, listener: (value: T) => void): () => void {
    const listeners = this.#entry(key).listeners;
    const entry = listener as (value: unknown) => void;
    listeners.add(entry);
    return () => listeners.delete(entry);
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
    entry.value = value;
    entry.source = 'changed';
    for (const listener of entry.listeners) {
      try {
        listener(value);
      } catch (error) {
        this.onListenerError(key, error);
      }
    }
  }
}
