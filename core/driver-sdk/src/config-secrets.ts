/**
 * Redaction of the secrets a driver declares in `config_secrets`, and their restoration into
 * a configuration sent back to the device. Pure functions over JSON values, so a driver
 * author can check their paths against a sample configuration.
 *
 * A secret is restored only where it is certainly the same item's: array items are located
 * by their `id` when they have a string one that is unique in the array (flows, inputs,
 * outputs and tunnels all have one), so a secret follows its item when others are added,
 * removed or reordered; other items are located by index, and only while the array keeps
 * the length it had when it was shown. Anything else is reported as unresolved, never guessed.
 *
 * Device configurations are input from the device: the walk is linear in the size of the
 * value times the patterns' length, and a value nested deeper than `MAX_DEPTH` is replaced by
 * `REDACTED` as a whole (real configurations are a dozen levels deep).
 */

/** What the manager shows in place of a secret it redacted from a device configuration. */
export const REDACTED = '***REDACTED***';

/** Deeper values are not walked: shown as `REDACTED` (and so never restorable). */
const MAX_DEPTH = 64;

/** One step of a value's location: an object key, an array index, or an array item's id. */
type Step = { key: string } | { index: number } | { id: string };

/** The secrets taken out of a configuration, for `restoreSecrets`. Never shown or logged. */
export interface ConfigSecrets {
  /** Secret values by location. */
  readonly values: ReadonlyMap<string, unknown>;
  /** Lengths of the arrays whose items were located by index. */
  readonly arrayLengths: ReadonlyMap<string, number>;
}

export interface RedactedConfig {
  /** A copy with every declared secret replaced by `REDACTED`. */
  config: unknown;
  secrets: ConfigSecrets;
}

export interface RestoredConfig {
  /** A copy with every `REDACTED` placeholder that could be located replaced by its secret. */
  config: unknown;
  /** Readable paths of placeholders with no secret to restore (e.g. copied into a new flow). */
  unresolved: string[];
}

export const NO_SECRETS: ConfigSecrets = { values: new Map(), arrayLengths: new Map() };

/**
 * A compiled path pattern. While walking, each pattern is in a set of states (positions in
 * its segments); a key moves every state on, and a state at the end means the value matches.
 */
class PathPattern {
  constructor(private readonly segments: string[]) {}

  /** The position itself, and past any `**` there (which may match no level). */
  closure(position: number, into: Set<number>): void {
    into.add(position);
    if (this.segments[position] === '**') this.closure(position + 1, into);
  }

  start(): Set<number> {
    const states = new Set<number>();
    this.closure(0, states);
    return states;
  }

  step(states: ReadonlySet<number>, key: string): Set<number> {
    const next = new Set<number>();
    for (const position of states) {
      const segment = this.segments[position];
      if (segment === undefined) continue;
      if (segment === '**') this.closure(position, next);
      else if (segment === '*' || segment === key) this.closure(position + 1, next);
    }
    return next;
  }

  matches(states: ReadonlySet<number>): boolean {
    return states.has(this.segments.length);
  }
}

type States = Set<number>[];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How each item of an array is located: by a unique string `id`, else by index. */
function itemSteps(items: unknown[]): Step[] {
  const counts = new Map<string, number>();
  for (const item of items) if (isPlainObject(item) && typeof item.id === 'string') counts.set(item.id, (counts.get(item.id) ?? 0) + 1);
  return items.map((item, index) => (isPlainObject(item) && typeof item.id === 'string' && counts.get(item.id) === 1 ? { id: item.id } : { index }));
}

function locationKey(steps: readonly Step[]): string {
  return JSON.stringify(steps);
}

function readablePath(steps: readonly Step[]): string {
  return steps
    .map((step) => ('key' in step ? `.${step.key}` : 'id' in step ? `[id=${JSON.stringify(step.id)}]` : `[${step.index}]`))
    .join('')
    .replace(/^\./, '');
}

/** Sets a property on a copy without ever invoking `__proto__`'s setter. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

interface Visitor {
  /** Returns the replacement of a value at a location, or `undefined` to keep walking. */
  visit(value: unknown, steps: readonly Step[], secret: boolean): unknown;
  /** An array whose items (some of them) are located by index. */
  indexedArray?(steps: readonly Step[], length: number): void;
  /** An object or array deeper than `MAX_DEPTH`: its replacement (it is not walked). */
  tooDeep(value: unknown, steps: readonly Step[]): unknown;
}

function walk(value: unknown, patterns: PathPattern[], states: States, steps: Step[], visitor: Visitor): unknown {
  if (steps.length > 0) {
    const secret = patterns.some((pattern, i) => pattern.matches(states[i]));
    const replaced = visitor.visit(value, steps, secret);
    if (replaced !== undefined) return replaced;
  }
  if (steps.length >= MAX_DEPTH && (Array.isArray(value) || isPlainObject(value))) return visitor.tooDeep(value, steps);
  const child = (key: string, item: unknown, step: Step): unknown => {
    steps.push(step);
    const result = walk(
      item,
      patterns,
      patterns.map((pattern, i) => pattern.step(states[i], key)),
      steps,
      visitor
    );
    steps.pop();
    return result;
  };
  if (Array.isArray(value)) {
    const located = itemSteps(value);
    if (located.some((step) => 'index' in step)) visitor.indexedArray?.(steps, value.length);
    return value.map((item, index) => child(String(index), item, located[index]));
  }
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) define(copy, key, child(key, value[key], { key }));
    return copy;
  }
  return value;
}

function compile(patterns: readonly string[]): PathPattern[] {
  return patterns.map((pattern) => new PathPattern(pattern.split('.')));
}

/** Replaces the values at the declared secret paths by `REDACTED` (null and absent values stay as they are). */
export function redactSecrets(config: unknown, patterns: readonly string[]): RedactedConfig {
  const compiled = compile(patterns);
  const values = new Map<string, unknown>();
  const arrayLengths = new Map<string, number>();
  const redacted = walk(
    config,
    compiled,
    compiled.map((p) => p.start()),
    [],
    {
      visit(value, steps, secret) {
        if (!secret || value === null || value === REDACTED) return undefined;
        values.set(locationKey(steps), value);
        return REDACTED;
      },
      indexedArray(steps, length) {
        arrayLengths.set(locationKey(steps), length);
      },
      tooDeep: () => REDACTED
    }
  );
  return { config: redacted, secrets: { values, arrayLengths } };
}

/**
 * Puts secrets taken out by `redactSecrets` back where a `REDACTED` placeholder stands at the
 * same location; placeholders that cannot be placed with certainty are listed in `unresolved`.
 */
export function restoreSecrets(config: unknown, secrets: ConfigSecrets): RestoredConfig {
  const unresolved: string[] = [];
  /** Arrays (by location) whose length changed since they were shown: their index-located items are not certain. */
  const changedArrays = new Set<string>();
  const restored = walk(config, [], [], [], {
    visit(value, steps) {
      if (value !== REDACTED) return undefined;
      const key = locationKey(steps);
      // Located by index anywhere on the way, in an array that changed length: not certain.
      const certain = steps.every((step, i) => !('index' in step) || !changedArrays.has(locationKey(steps.slice(0, i))));
      if (certain && secrets.values.has(key)) return secrets.values.get(key);
      unresolved.push(readablePath(steps));
      return value;
    },
    indexedArray(steps, length) {
      const key = locationKey(steps);
      if (secrets.arrayLengths.get(key) !== length) changedArrays.add(key);
    },
    // Nothing is sent unchecked: too deep to look into means refused.
    tooDeep(value, steps) {
      unresolved.push(`${readablePath(steps)} (nested too deep to check)`);
      return value;
    }
  });
  return { config: restored, unresolved };
}

/** Readable paths of every `REDACTED` placeholder in a value (a command must not send one as a real value). */
export function findRedacted(value: unknown): string[] {
  return restoreSecrets(value, NO_SECRETS).unresolved;
}
