/**
 * An eval-free JSON Schema (draft-07) validator with the slice of Ajv's API that
 * `@rjsf/validator-ajv8` and ajv-formats use, reporting Ajv-shaped errors (same keywords,
 * params and messages). See csp-safe-validator.ts for why it exists.
 */

export interface ErrorObject {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, any>;
  message: string;
  schema?: unknown;
  parentSchema?: unknown;
  data?: unknown;
}

type Schema = boolean | Record<string, any>;
type FormatDef = RegExp | string | ((value: any) => boolean) | { type?: string; validate: RegExp | string | ((value: any) => boolean) };

interface ValidateFunction {
  (data: unknown): boolean;
  errors: ErrorObject[] | null;
  schema: Schema;
}

const MAX_DEPTH = 256;

function escapePointer(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(segment: string): string {
  return decodeURIComponent(segment).replace(/~1/g, '/').replace(/~0/g, '~');
}

function isObject(value: unknown): value is Record<string, any> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => deepEqual(v, other[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as any)[k], (b as any)[k]));
}

function matchesType(type: string, value: unknown): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    default:
      return true;
  }
}

/** Length in Unicode code points, as Ajv counts it. */
function codePoints(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** The subset of Ajv's API that `@rjsf/validator-ajv8` (and ajv-formats) use. */
export class InterpretingAjv {
  readonly opts: Record<string, any>;
  readonly #formats = new Map<string, FormatDef>();
  readonly #schemas = new Map<string, Schema>();
  readonly #byKey = new Map<string, ValidateFunction>();
  readonly #bySchema = new WeakMap<object, ValidateFunction>();
  readonly #regexps = new Map<string, RegExp>();

  constructor(opts: Record<string, any> = {}) {
    this.opts = { ...opts, code: { ...(opts.code ?? {}) } };
  }

  addFormat(name: string, format: FormatDef): this {
    this.#formats.set(name, format);
    return this;
  }

  /** Custom keywords (rjsf's marker, ajv-formats' formatMinimum…) are accepted and not checked. */
  addKeyword(_definition: unknown): this {
    return this;
  }

  addMetaSchema(_schemas: unknown): this {
    return this;
  }

  addSchema(schema: Schema | Schema[], key?: string): this {
    if (Array.isArray(schema)) {
      for (const s of schema) this.addSchema(s);
      return this;
    }
    const id = key ?? (isObject(schema) ? (schema.$id as string | undefined) : undefined);
    if (id === undefined) return this;
    this.#schemas.set(id.replace(/#$/, ''), schema);
    this.#byKey.delete(id.replace(/#$/, ''));
    return this;
  }

  getSchema(key: string): ValidateFunction | undefined {
    const id = key.replace(/#$/, '');
    const cached = this.#byKey.get(id);
    if (cached) return cached;
    const schema = this.#schemas.get(id);
    if (schema === undefined) return undefined;
    const fn = this.#validator(schema);
    this.#byKey.set(id, fn);
    return fn;
  }

  removeSchema(keyOrSchema?: string | Schema): this {
    if (keyOrSchema === undefined) {
      this.#schemas.clear();
      this.#byKey.clear();
    } else if (typeof keyOrSchema === 'string') {
      this.#schemas.delete(keyOrSchema.replace(/#$/, ''));
      this.#byKey.delete(keyOrSchema.replace(/#$/, ''));
    } else if (typeof keyOrSchema === 'object') {
      this.#bySchema.delete(keyOrSchema);
    }
    return this;
  }

  compile(schema: Schema): ValidateFunction {
    if (typeof schema === 'object' && schema !== null) {
      const cached = this.#bySchema.get(schema);
      if (cached) return cached;
      const fn = this.#validator(schema);
      this.#bySchema.set(schema, fn);
      return fn;
    }
    return this.#validator(schema);
  }

  validate(schema: Schema, data: unknown): boolean {
    return this.compile(schema)(data);
  }

  #validator(schema: Schema): ValidateFunction {
    const fn = ((data: unknown) => {
      const errors: ErrorObject[] = [];
      this.#check(schema, data, schema, '', '#', errors, 0);
      fn.errors = errors.length > 0 ? errors : null;
      return errors.length === 0;
    }) as ValidateFunction;
    fn.errors = null;
    fn.schema = schema;
    return fn;
  }

  #regexp(pattern: string): RegExp {
    let re = this.#regexps.get(pattern);
    if (!re) {
      try {
        re = new RegExp(pattern, 'u');
      } catch {
        re = new RegExp(pattern);
      }
      this.#regexps.set(pattern, re);
    }
    return re;
  }

  /** `ref` against the schema it appears in (`root`) or a registered schema (`<id>#<pointer>`). */
  #resolve(ref: string, root: Schema): { schema: Schema; root: Schema } {
    const hash = ref.indexOf('#');
    const base = hash === -1 ? ref : ref.slice(0, hash);
    const fragment = hash === -1 ? '' : ref.slice(hash + 1);
    const target = base === '' ? root : this.#schemas.get(base);
    if (target === undefined) throw new Error(`can't resolve reference ${ref}`);
    let node: any = target;
    if (fragment) {
      for (const segment of fragment.replace(/^\//, '').split('/')) {
        node = node?.[unescapePointer(segment)];
        if (node === undefined) throw new Error(`can't resolve reference ${ref}`);
      }
    }
    return { schema: node, root: target };
  }

  #checkFormat(name: string, value: unknown): boolean {
    const def = this.#formats.get(name);
    if (def === undefined) return true;
    let type = 'string';
    let test: RegExp | string | ((v: any) => boolean) = def as any;
    if (typeof def === 'object' && !(def instanceof RegExp)) {
      type = def.type ?? 'string';
      test = def.validate;
    }
    if (!matchesType(type, value)) return true;
    if (test instanceof RegExp) return test.test(String(value));
    if (typeof test === 'string') return this.#regexp(test).test(String(value));
    return Boolean(test(value));
  }

  /** Validates `data` against `schema`, appending Ajv-style errors; true when valid. */
  #check(schema: Schema, data: any, root: Schema, path: string, spath: string, errors: ErrorObject[], depth: number): boolean {
    if (depth > MAX_DEPTH) throw new Error('schema nesting too deep');
    if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return true;
    if (schema === false) {
      errors.push({ instancePath: path, schemaPath: spath, keyword: 'false schema', params: {}, message: 'boolean schema is false', schema: false, data });
      return false;
    }
    const s = schema as Record<string, any>;
    const start = errors.length;
    const fail = (keyword: string, params: Record<string, any>, message: string) =>
      errors.push({ instancePath: path, schemaPath: `${spath}/${keyword}`, keyword, params, message, schema: s[keyword], parentSchema: s, data });
    const sub = (child: Schema, value: unknown, childPath: string, childSpath: string, into = errors, childRoot = root) =>
      this.#check(child, value, childRoot, childPath, childSpath, into, depth + 1);

    if (typeof s.$ref === 'string') {
      const resolved = this.#resolve(s.$ref, root);
      const refPath = s.$ref.startsWith('#') ? `${spath}/$ref` : s.$ref;
      sub(resolved.schema, data, path, refPath, errors, resolved.root);
    }

    if (s.type !== undefined) {
      const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some((t) => matchesType(t, data))) {
        // Like Ajv with allErrors, the other keywords are still checked (those for a
        // specific type only apply to data of that type).
        fail('type', { type: types.join(',') }, `must be ${types.join(',')}`);
      }
    }
    if (Array.isArray(s.enum) && !s.enum.some((v: unknown) => deepEqual(v, data))) {
      fail('enum', { allowedValues: s.enum }, 'must be equal to one of the allowed values');
    }
    if ('const' in s && !deepEqual(s.const, data)) fail('const', { allowedValue: s.const }, 'must be equal to constant');

    if (typeof data === 'number') {
      if (typeof s.maximum === 'number' && !(data <= s.maximum)) fail('maximum', { comparison: '<=', limit: s.maximum }, `must be <= ${s.maximum}`);
      if (typeof s.minimum === 'number' && !(data >= s.minimum)) fail('minimum', { comparison: '>=', limit: s.minimum }, `must be >= ${s.minimum}`);
      if (typeof s.exclusiveMaximum === 'number' && !(data < s.exclusiveMaximum)) {
        fail('exclusiveMaximum', { comparison: '<', limit: s.exclusiveMaximum }, `must be < ${s.exclusiveMaximum}`);
      }
      if (typeof s.exclusiveMinimum === 'number' && !(data > s.exclusiveMinimum)) {
        fail('exclusiveMinimum', { comparison: '>', limit: s.exclusiveMinimum }, `must be > ${s.exclusiveMinimum}`);
      }
      if (typeof s.multipleOf === 'number' && s.multipleOf > 0) {
        const q = data / s.multipleOf;
        if (Math.abs(Math.round(q) - q) > 1e-8) fail('multipleOf', { multipleOf: s.multipleOf }, `must be multiple of ${s.multipleOf}`);
      }
    }

    if (typeof data === 'string') {
      const length = codePoints(data);
      if (typeof s.maxLength === 'number' && length > s.maxLength) fail('maxLength', { limit: s.maxLength }, `must NOT have more than ${s.maxLength} characters`);
      if (typeof s.minLength === 'number' && length < s.minLength) fail('minLength', { limit: s.minLength }, `must NOT have fewer than ${s.minLength} characters`);
      if (typeof s.pattern === 'string' && !this.#regexp(s.pattern).test(data)) fail('pattern', { pattern: s.pattern }, `must match pattern "${s.pattern}"`);
    }
    if (typeof s.format === 'string' && !this.#checkFormat(s.format, data)) fail('format', { format: s.format }, `must match format "${s.format}"`);

    if (Array.isArray(data)) {
      if (typeof s.maxItems === 'number' && data.length > s.maxItems) fail('maxItems', { limit: s.maxItems }, `must NOT have more than ${s.maxItems} items`);
      if (typeof s.minItems === 'number' && data.length < s.minItems) fail('minItems', { limit: s.minItems }, `must NOT have fewer than ${s.minItems} items`);
      if (s.uniqueItems === true) {
        outer: for (let i = data.length - 1; i > 0; i--) {
          for (let j = i - 1; j >= 0; j--) {
            if (deepEqual(data[i], data[j])) {
              fail('uniqueItems', { i, j }, `must NOT have duplicate items (items ## ${j} and ${i} are identical)`);
              break outer;
            }
          }
        }
      }
      if (Array.isArray(s.items)) {
        s.items.forEach((itemSchema: Schema, i: number) => {
          if (i < data.length) sub(itemSchema, data[i], `${path}/${i}`, `${spath}/items/${i}`);
        });
        if (data.length > s.items.length) {
          if (s.additionalItems === false) {
            fail('additionalItems', { limit: s.items.length }, `must NOT have more than ${s.items.length} items`);
          } else if (isObject(s.additionalItems)) {
            for (let i = s.items.length; i < data.length; i++) sub(s.additionalItems, data[i], `${path}/${i}`, `${spath}/additionalItems`);
          }
        }
      } else if (s.items !== undefined) {
        data.forEach((item, i) => sub(s.items, item, `${path}/${i}`, `${spath}/items`));
      }
      if (s.contains !== undefined) {
        const tried: ErrorObject[] = [];
        if (!data.some((item, i) => sub(s.contains, item, `${path}/${i}`, `${spath}/contains`, tried))) {
          errors.push(...tried);
          fail('contains', { minContains: 1 }, 'must contain at least 1 valid item(s)');
        }
      }
    }

    if (isObject(data)) {
      const keys = Object.keys(data);
      if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties) {
        fail('maxProperties', { limit: s.maxProperties }, `must NOT have more than ${s.maxProperties} properties`);
      }
      if (typeof s.minProperties === 'number' && keys.length < s.minProperties) {
        fail('minProperties', { limit: s.minProperties }, `must NOT have fewer than ${s.minProperties} properties`);
      }
      if (Array.isArray(s.required)) {
        for (const name of s.required as string[]) {
          if (data[name] === undefined) fail('required', { missingProperty: name }, `must have required property '${name}'`);
        }
      }
      const properties: Record<string, Schema> = isObject(s.properties) ? s.properties : {};
      const patterns: Record<string, Schema> = isObject(s.patternProperties) ? s.patternProperties : {};
      for (const key of keys) {
        let known = false;
        if (Object.prototype.hasOwnProperty.call(properties, key)) {
          known = true;
          if (data[key] !== undefined) sub(properties[key], data[key], `${path}/${escapePointer(key)}`, `${spath}/properties/${escapePointer(key)}`);
        }
        for (const [pattern, patternSchema] of Object.entries(patterns)) {
          if (this.#regexp(pattern).test(key)) {
            known = true;
            sub(patternSchema, data[key], `${path}/${escapePointer(key)}`, `${spath}/patternProperties/${escapePointer(pattern)}`);
          }
        }
        if (!known && s.additionalProperties !== undefined && s.additionalProperties !== true) {
          if (s.additionalProperties === false) {
            fail('additionalProperties', { additionalProperty: key }, 'must NOT have additional properties');
          } else {
            sub(s.additionalProperties, data[key], `${path}/${escapePointer(key)}`, `${spath}/additionalProperties`);
          }
        }
      }
      if (s.propertyNames !== undefined) {
        for (const key of keys) {
          const tried: ErrorObject[] = [];
          if (!sub(s.propertyNames, key, path, `${spath}/propertyNames`, tried)) {
            errors.push(...tried.map((e) => ({ ...e, params: { ...e.params, propertyName: key } })));
            fail('propertyNames', { propertyName: key }, 'property name must be valid');
          }
        }
      }
      if (isObject(s.dependencies)) {
        for (const [property, dependency] of Object.entries(s.dependencies)) {
          if (data[property] === undefined) continue;
          if (Array.isArray(dependency)) {
            const missing = (dependency as string[]).filter((d) => data[d] === undefined);
            for (const missingProperty of missing) {
              fail(
                'dependencies',
                { property, missingProperty, depsCount: dependency.length, deps: dependency.join(', ') },
                `must have ${dependency.length === 1 ? 'property' : 'properties'} ${dependency.join(', ')} when property ${property} is present`
              );
            }
          } else {
            sub(dependency as Schema, data, path, `${spath}/dependencies/${escapePointer(property)}`);
          }
        }
      }
    }

    if (Array.isArray(s.allOf)) s.allOf.forEach((part: Schema, i: number) => sub(part, data, path, `${spath}/allOf/${i}`));
    if (Array.isArray(s.anyOf)) {
      const tried: ErrorObject[] = [];
      const ok = s.anyOf.some((part: Schema, i: number) => sub(part, data, path, `${spath}/anyOf/${i}`, tried));
      if (!ok) {
        errors.push(...tried);
        fail('anyOf', {}, 'must match a schema in anyOf');
      }
    }
    if (Array.isArray(s.oneOf)) {
      const tried: ErrorObject[] = [];
      const passing = s.oneOf.map((part: Schema, i: number) => (sub(part, data, path, `${spath}/oneOf/${i}`, tried) ? i : -1)).filter((i: number) => i >= 0);
      if (passing.length !== 1) {
        errors.push(...tried);
        fail('oneOf', { passingSchemas: passing.length > 1 ? passing.slice(0, 2) : null }, 'must match exactly one schema in oneOf');
      }
    }
    if (s.not !== undefined && sub(s.not, data, path, `${spath}/not`, [])) fail('not', {}, 'must NOT be valid');
    if (s.if !== undefined) {
      const branch = sub(s.if, data, path, `${spath}/if`, []) ? 'then' : 'else';
      if (s[branch] !== undefined) {
        const tried: ErrorObject[] = [];
        if (!sub(s[branch], data, path, `${spath}/${branch}`, tried)) {
          errors.push(...tried);
          errors.push({
            instancePath: path,
            schemaPath: `${spath}/if`,
            keyword: 'if',
            params: { failingKeyword: branch },
            message: `must match "${branch}" schema`,
            schema: s.if,
            parentSchema: s,
            data
          });
        }
      }
    }
    return errors.length === start;
  }
}
