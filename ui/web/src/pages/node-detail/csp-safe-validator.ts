import { customizeValidator, type CustomValidatorOptionsType } from '@rjsf/validator-ajv8';
import { InterpretingAjv } from './interpreting-ajv';

/**
 * A JSON Schema (draft-07) validator for @rjsf forms that works under the manager's strict
 * Content-Security-Policy (`script-src 'self'`, no `'unsafe-eval'`).
 *
 * Ajv compiles every schema into JavaScript with `new Function()`, which that policy
 * forbids, so the stock `@rjsf/validator-ajv8` validator cannot validate anything in the
 * real app. The command schemas come from the device drivers at run time (a vendor driver
 * must work with no UI change), so Ajv's build-time precompilation is not an option either.
 * Instead, `@rjsf/validator-ajv8` is given an interpreting stand-in for the Ajv class
 * (interpreting-ajv.ts): it walks the schema and reports Ajv-shaped errors (same keywords, params and messages), so
 * rjsf's own error processing, titles and field error placement are unchanged.
 */
export function createCspSafeValidator() {
  return customizeValidator({ AjvClass: InterpretingAjv as unknown as NonNullable<CustomValidatorOptionsType['AjvClass']> });
}

export const commandValidator = createCspSafeValidator();
