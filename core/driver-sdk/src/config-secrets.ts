/**
 * Redaction of the secrets a driver declares in `config_secrets`, and their restoration into
 * a configuration sent back to the device. Pure functions over JSON values, so a driver
 * author can check their paths against a sample configuration.
 *
 * Array items are located by their `id` when they have a string one (flows, inputs, outputs
 * and tunnels all do), otherwise by index, so a secret is restored into the item it came
 * from even after other items were added, removed or reordered.
 */

/** What the manager shows in place of a secret it redacted from a device configuration. */
export const REDACTED = '***REDACTED***';

type Segment = string;
/** One step of a value's location: an object key, an array index, or an array item's id. */
type Step = { key: string } | { index: number } | { id: string };

export interface RedactedConfig {
  /** A copy with every declared secret replaced by `REDACTED`. */
  config: unknown;
  /** The values taken out, by location, for `restoreSecrets`. */
  secrets: Map<string, unknown>;
}

export interface RestoredConfig {
  /** A copy with every `REDACTED` placeholder that could be located replaced by its secret. */
  config: unknown;
  /** Readable paths of placeholders with no secret to restore (e.g. copied into a new flow). */
  unresolved: string[];
}

function compile(patterns: readonly string[]): Segment[][] {
  return patterns.map((pattern) => pattern.split('.'));
}

/** Glob match of a key path against a pattern: `*` is one level, `**` any number (also none). */
function matches(pattern: Segment[], path: string[], p = 0, k = 0): boolean {
  if (p === pattern.length) return k === path.length;
  const segment = pattern[p];
  if (segment === '**') {
    for (let skip = k; skip <= path.length; skip++) if (matches(pattern, path, p + 1, skip)) return true;
    return false;
  }
  if (k === path.length) return false;
  return (segment === '*' || segment === path[k]) && matches(pattern, path, p + 1, k + 1);
}

function isSecretPath(patterns: Segment[][], path: string[]): boolean {
  return patterns.some((pattern) => matches(pattern, path));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function itemStep(item: unknown, index: number): Step {
  return isPlainObject(item) && typeof item.id === 'string' ? { id: item.id } : { index };
}

function locationKey(steps: Step[]): string {
  return JSON.stringify(steps);
}

function readablePath(steps: Step[]): string {
  return steps.map((step) => ('key' in step ? `.${step.key}` : 'id' in step ? `[id=${JSON.stringify(step.id)}]` : `[${step.index}]`)).join('').replace(/^\./, '');
}

/**
 * Walks a JSON value, calling `visit` for each value with its key path (indices as strings,
 * for pattern matching) and its location; `visit` returns the replacement or `undefined` to
 * descend. Returns a copy; the input is never changed.
 */
function transform(value: unknown, visit: (value: unknown, keys: string[], steps: Step[]) => unknown, keys: string[] = [], steps: Step[] = []): unknown {
  if (keys.length > 0) {
    const replaced = visit(value, keys, steps);
    if (replaced !== undefined) return replaced;
  }
  if (Array.isArray(value)) return value.map((item, index) => transform(item, visit, [...keys, String(index)], [...steps, itemStep(item, index)]));
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) copy[key] = transform(child, visit, [...keys, key], [...steps, { key }]);
    return copy;
  }
  return value;
}

/** Replaces the values at the declared secret paths by `REDACTED` (null and absent values stay as they are). */
export function redactSecrets(config: unknown, patterns: readonly string[]): RedactedConfig {
  const compiled = compile(patterns);
  const secrets = new Map<string, unknown>();
  if (compiled.length === 0) return { config, secrets };
  const redacted = transform(config, (value, keys, steps) => {
    if (value === null || value === REDACTED || !isSecretPath(compiled, keys)) return undefined;
    secrets.set(locationKey(steps), value);
    return REDACTED;
  });
  return { config: redacted, secrets };
}

/**
 * Puts secrets taken out by `redactSecrets` back where a `REDACTED` placeholder stands at the
 * same location; placeholders with nothing to restore are listed in `unresolved`.
 */
export function restoreSecrets(config: unknown, secrets: ReadonlyMap<string, unknown>): RestoredConfig {
  const unresolved: string[] = [];
  const restored = transform(config, (value, _keys, steps) => {
    if (value !== REDACTED) return undefined;
    const key = locationKey(steps);
    if (secrets.has(key)) return secrets.get(key);
    unresolved.push(readablePath(steps));
    return value;
  });
  return { config: restored, unresolved };
}

/** Readable paths of every `REDACTED` placeholder in a value (a command must not send one as a real value). */
export function findRedacted(value: unknown): string[] {
  return restoreSecrets(value, new Map()).unresolved;
}
