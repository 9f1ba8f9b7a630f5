import { dereference, validate, type OutputUnit, type Schema } from '@cfworker/json-schema';

/**
 * JSON Schema (draft-07) validation for the command forms without code generation, so it runs
 * under the manager's Content-Security-Policy (no `'unsafe-eval'`): `@cfworker/json-schema`
 * interprets the schemas, and its errors are given Ajv's shape and wording (keyword, params,
 * message), which rjsf's error list and inline field errors are built from. The rjsf
 * `ValidatorType` on top of this is in csp-safe-validator.ts.
 */

/** A validation error in Ajv's shape: what `rawValidation` returns and the errors shown are made from. */
export interface SchemaError {
  /** JSON pointer to the value, '' for the whole form data. */
  instancePath: string;
  /** The failing keyword's location in the schema, e.g. `#/properties/flow_id/maxLength`. */
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string;
  /** The schema object holding the keyword (its title names the field). */
  parentSchema?: Record<string, unknown>;
}

type Lookup = Record<string, Schema | boolean>;
interface Prepared {
  schema: Schema | boolean;
  lookup: Lookup;
}

const BASE = 'https://rjsf.invalid/';

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const has = (value: unknown, key: string) => isObject(value) && Object.prototype.hasOwnProperty.call(value, key);
/** `value?.[key]` on a JSON value of unknown shape. */
const member = (value: unknown, key: string): unknown => (value === null || value === undefined ? undefined : (value as Record<string, unknown>)[key]);

/** The decoded segments of a cfworker location (`#/a/b~1c/0`, URI-encoded). */
function segments(location: string): string[] {
  const path = location.replace(/^#/, '');
  return path === ''
    ? []
    : path
        .slice(1)
        .split('/')
        .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
}

const toPointer = (parts: string[]) => parts.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/** Data as JSON holds it: rjsf keeps cleared fields as `undefined`, which JSON Schema has no type for. */
function asJson(data: unknown): unknown {
  const json = JSON.stringify(data);
  return json === undefined ? null : JSON.parse(json);
}

/**
 * Ajv-shaped errors from cfworker's output: the "a subschema had errors" entries cfworker adds
 * above nested errors are dropped, and the rest get Ajv's params and messages.
 */
function toSchemaErrors(units: OutputUnit[], root: Prepared, data: unknown): SchemaError[] {
  /** The schema object holding the keyword at `location`, and the keyword's value. */
  const schemaAt = (location: string): { parent: Record<string, unknown>; value: unknown } => {
    const parts = segments(location);
    const keyword = parts.pop()!;
    let node: unknown = root.schema;
    for (const part of parts) {
      const ref = part === '$ref' ? member(node, '__absolute_ref__') : undefined;
      node = typeof ref === 'string' ? root.lookup[ref] : member(node, part);
    }
    return { parent: isObject(node) ? node : {}, value: isObject(node) ? node[keyword] : undefined };
  };
  const valueAt = (location: string) => segments(location).reduce<unknown>(member, data);
  const counters = new Map<string, number>();
  const nth = (key: string) => {
    const n = counters.get(key) ?? 0;
    counters.set(key, n + 1);
    return n;
  };

  const errors: SchemaError[] = [];
  for (let i = 0; i < units.length; i++) {
    const unit = units[i];
    const next = units[i + 1];
    const nested = (u: OutputUnit | undefined) => u !== undefined && u.keywordLocation.startsWith(`${unit.keywordLocation}/`);
    const { keyword, keywordLocation: schemaPath } = unit;
    const instancePath = toPointer(segments(unit.instanceLocation));
    const { parent, value } = schemaAt(schemaPath);
    /** The keyword's value as the messages show it. */
    const shown = String(value);
    const data = valueAt(unit.instanceLocation);
    const push = (params: Record<string, unknown>, message: string) =>
      errors.push({ instancePath, schemaPath, keyword, params, message, parentSchema: parent });

    switch (keyword) {
      case 'type': {
        const type = Array.isArray(value) ? value.join(',') : shown;
        push({ type }, `must be ${type}`);
        break;
      }
      case 'enum':
        push({ allowedValues: value }, 'must be equal to one of the allowed values');
        break;
      case 'const':
        push({ allowedValue: value }, 'must be equal to constant');
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const comparison = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' }[keyword];
        push({ comparison, limit: value }, `must be ${comparison} ${shown}`);
        break;
      }
      case 'multipleOf':
        push({ multipleOf: value }, `must be multiple of ${shown}`);
        break;
      case 'minLength':
      case 'maxLength':
        push({ limit: value }, `must NOT have ${keyword === 'maxLength' ? 'more' : 'fewer'} than ${shown} characters`);
        break;
      case 'pattern':
        push({ pattern: value }, `must match pattern "${shown}"`);
        break;
      case 'format':
        push({ format: value }, `must match format "${shown}"`);
        break;
      case 'minItems':
      case 'maxItems':
        push({ limit: value }, `must NOT have ${keyword === 'maxItems' ? 'more' : 'fewer'} than ${shown} items`);
        break;
      case 'minProperties':
      case 'maxProperties':
        push({ limit: value }, `must NOT have ${keyword === 'maxProperties' ? 'more' : 'fewer'} than ${shown} properties`);
        break;
      case 'uniqueItems': {
        // The last item that repeats an earlier one, and that one (Ajv's message names such a pair).
        const items = data as unknown[];
        const key = (v: unknown) =>
          JSON.stringify(v, (_k, x: unknown) => (isObject(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
        let pair = { i: 0, j: 0 };
        for (let a = items.length - 1, found = false; a > 0 && !found; a--) {
          const j = items.slice(0, a).findIndex((b) => key(b) === key(items[a]));
          if (j >= 0) [pair, found] = [{ i: a, j }, true];
        }
        push(pair, `must NOT have duplicate items (items ## ${pair.j} and ${pair.i} are identical)`);
        break;
      }
      case 'required': {
        // One cfworker error per missing property, in the order `required` lists them.
        const missingProperty = (value as string[]).filter((p) => !has(data, p))[nth(`${instancePath} ${schemaPath}`)];
        if (missingProperty === undefined) push({}, unit.error);
        else push({ missingProperty }, `must have required property '${missingProperty}'`);
        break;
      }
      case 'dependencies': {
        if (nested(next)) break; // a schema dependency: its errors follow
        const pairs = Object.entries(value as Record<string, unknown>).flatMap(([property, deps]) =>
          has(data, property) && Array.isArray(deps)
            ? (deps as string[]).filter((d) => !has(data, d)).map((missingProperty) => ({ property, missingProperty, deps }))
            : []
        );
        const pair = pairs[nth(`${instancePath} ${schemaPath}`)];
        if (!pair) {
          push({}, unit.error);
          break;
        }
        const { property, missingProperty, deps } = pair;
        push(
          { property, missingProperty, depsCount: deps.length, deps: deps.join(', ') },
          `must have ${deps.length === 1 ? 'property' : 'properties'} ${deps.join(', ')} when property ${property} is present`
        );
        break;
      }
      case 'additionalProperties':
      case 'additionalItems':
        if (value !== false) break; // a schema: the member's own errors follow
        if (next?.keyword === 'false') i++; // the member's "false schema" error, reported here instead
        if (keyword === 'additionalProperties') {
          push({ additionalProperty: segments(next?.instanceLocation ?? '').pop() }, 'must NOT have additional properties');
        } else if (nth(`${instancePath} ${schemaPath}`) === 0) {
          const limit = Array.isArray(parent.items) ? parent.items.length : 0;
          push({ limit }, `must NOT have more than ${limit} items`);
        }
        break;
      case 'propertyNames': {
        // Ajv reports a bad property name at the object, naming the property.
        const propertyName = segments(next?.instanceLocation ?? '').pop();
        const inner: OutputUnit[] = [];
        while (nested(units[i + 1])) inner.push(units[++i]);
        for (const e of toSchemaErrors(inner, root, data)) errors.push({ ...e, instancePath, params: { ...e.params, propertyName } });
        push({ propertyName }, 'property name must be valid');
        break;
      }
      case 'anyOf':
        push({}, 'must match a schema in anyOf');
        break;
      case 'oneOf':
        push({}, 'must match exactly one schema in oneOf');
        break;
      case 'not':
        push({}, 'must NOT be valid');
        break;
      case 'contains':
        push({ minContains: 1 }, 'must contain at least 1 valid item(s)');
        break;
      case 'if': {
        const failingKeyword = next?.keywordLocation.startsWith(schemaPath.replace(/\/if$/, '/else')) ? 'else' : 'then';
        push({ failingKeyword }, `must match "${failingKeyword}" schema`);
        break;
      }
      case 'false':
        // (cfworker gives the value's location as the schema's here)
        errors.push({ instancePath, schemaPath, keyword: 'false schema', params: {}, message: 'boolean schema is false' });
        break;
      case '$ref':
      case '$recursiveRef':
      case 'properties':
      case 'patternProperties':
      case 'items':
      case 'prefixItems':
      case 'allOf':
      case 'dependentSchemas':
      case 'unevaluatedProperties':
      case 'unevaluatedItems':
        break; // "a subschema had errors": the nested errors that follow say which
      default:
        push({}, unit.error);
    }
  }
  return errors;
}

/** An error as an rjsf form lists it and places it at its field (rjsf's `RJSFValidationError`). */
export interface FormError {
  name: string;
  /** The field, in rjsf's dotted form: `.tunnel.relay_addrs.0`. */
  property: string;
  message: string;
  params: Record<string, unknown>;
  /** The text of the form's error list. */
  stack: string;
  schemaPath: string;
  title: string;
}

/** rjsf's error objects, made from Ajv-shaped errors as `@rjsf/validator-ajv8` makes them (without uiSchema titles). */
export function toFormErrors(errors: SchemaError[]): FormError[] {
  const list = errors.map(({ instancePath, keyword, params, schemaPath, parentSchema, message: raw }) => {
    let property = instancePath.replace(/\//g, '.');
    let message = raw;
    let stack: string;
    let title = '';
    const named = [params.missingProperty, params.property].filter((p): p is string => typeof p === 'string');
    if (named.length > 0) {
      for (const name of named) {
        const fieldTitle = member(member(parentSchema?.properties, name), 'title');
        if (typeof fieldTitle === 'string' && fieldTitle) {
          message = message.replace(`'${name}'`, `'${fieldTitle}'`);
          title = fieldTitle;
        }
      }
      stack = message;
    } else {
      title = typeof parentSchema?.title === 'string' ? parentSchema.title : '';
      stack = (title ? `'${title}' ${message}` : `${property} ${message}`).trim();
    }
    if (typeof params.missingProperty === 'string') property = property ? `${property}.${params.missingProperty}` : params.missingProperty;
    return { name: keyword, property, message, params, stack, schemaPath, title };
  });
  // Like rjsf: the same message from several branches of one anyOf/oneOf is listed once.
  return list.filter((error, index) => {
    const at = error.schemaPath.search(/\/(anyOf|oneOf)\//);
    if (at < 0) return true;
    const prefix = error.schemaPath.slice(0, at);
    return !list.slice(0, index).some((e) => e.message === error.message && e.schemaPath.startsWith(prefix));
  });
}

/**
 * Validates data against schemas as rjsf asks: whole form data against the form's schema with
 * every error, and parts of it against parts of the schema (`isValid`, for picking
 * `oneOf`/`anyOf` options and `if`/`then` branches) with `$ref`s resolved in the root schema.
 */
export class SchemaValidator {
  /** Each schema object as cfworker holds it: a private copy it may annotate, with what its `$ref`s reach. */
  #documents = new WeakMap<object, Prepared>();
  #roots = new WeakMap<object, Prepared>();

  #prepare(schema: object, base: string): Prepared {
    const copy = structuredClone(schema) as Schema;
    delete copy.$id;
    return { schema: copy, lookup: dereference(copy, Object.create(null) as Lookup, new URL(base, BASE)) };
  }

  /** Every error of `data` against `schema`, Ajv-shaped; a schema that cannot be used (a `$ref` to nowhere, a bad pattern) gives `validationError`. */
  validate(schema: object, data: unknown): { errors?: SchemaError[]; validationError?: Error } {
    try {
      let document = this.#documents.get(schema);
      if (!document) this.#documents.set(schema, (document = this.#prepare(schema, 'form')));
      const json = asJson(data);
      const result = validate(json, document.schema, '7', document.lookup, false);
      return result.valid ? {} : { errors: toSchemaErrors(result.errors, document, json) };
    } catch (err) {
      return { validationError: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  /** Whether `data` is valid against `schema`, a part of `rootSchema` whose `#…` references point into `rootSchema`. */
  isValid(schema: object, data: unknown, rootSchema: object): boolean {
    let root = this.#roots.get(rootSchema);
    if (!root) this.#roots.set(rootSchema, (root = this.#prepare(rootSchema, 'root')));
    // The part is placed inside the root document (at a pointer nothing else uses), so its
    // `#/definitions/…` references resolve against the root schema.
    const part = structuredClone(schema) as Schema;
    const lookup = dereference(part, Object.create(root.lookup) as Lookup, new URL('root', BASE), '/__rjsf_isValid_part');
    return validate(asJson(data), part, '7', lookup, true).valid;
  }

  reset(): void {
    this.#documents = new WeakMap();
    this.#roots = new WeakMap();
  }
}
