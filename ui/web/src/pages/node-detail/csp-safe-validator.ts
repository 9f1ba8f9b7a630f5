import {
  createErrorHandler,
  getDefaultFormState,
  toErrorSchema,
  unwrapErrorHandler,
  validationDataMerge,
  type CustomValidator,
  type ErrorTransformer,
  type FormContextType,
  type RJSFSchema,
  type RJSFValidationError,
  type UiSchema,
  type ValidationData,
  type ValidatorType
} from '@rjsf/utils';
import { SchemaValidator, toFormErrors } from './json-schema-validation';

/**
 * The command forms' validator: rjsf's `ValidatorType` for JSON Schema draft-07, usable under
 * the manager's strict Content-Security-Policy (`script-src 'self'`, no `'unsafe-eval'`).
 *
 * Ajv (behind `@rjsf/validator-ajv8`) compiles each schema into JavaScript with `new Function()`,
 * which that policy forbids, and the command schemas come from the device drivers at run time
 * (a vendor driver must work with no UI change), so they cannot be precompiled either.
 * `@cfworker/json-schema` interprets schemas instead (json-schema-validation.ts words its errors
 * as Ajv does); this class adds what rjsf expects of a validator around it, as
 * `@rjsf/validator-ajv8` does: the error schema for inline field errors, `transformErrors` and
 * `customValidate`.
 */
export class CspSafeValidator<T = unknown, S extends RJSFSchema = RJSFSchema, F extends FormContextType = FormContextType> implements ValidatorType<T, S, F> {
  readonly #schemas = new SchemaValidator();

  rawValidation<Result = unknown>(schema: S, formData?: T): { errors?: Result[]; validationError?: Error } {
    return this.#schemas.validate(schema, formData) as { errors?: Result[]; validationError?: Error };
  }

  validateFormData(
    formData: T | undefined,
    schema: S,
    customValidate?: CustomValidator<T, S, F>,
    transformErrors?: ErrorTransformer<T, S, F>,
    uiSchema?: UiSchema<T, S, F>
  ): ValidationData<T> {
    const { errors: raw = [], validationError } = this.#schemas.validate(schema, formData);
    let errors: RJSFValidationError[] = toFormErrors(raw);
    if (validationError) errors.push({ stack: validationError.message });
    if (typeof transformErrors === 'function') errors = transformErrors(errors, uiSchema);
    let errorSchema = toErrorSchema<T>(errors);
    if (validationError) errorSchema = { ...errorSchema, $schema: { __errors: [validationError.message] } };
    if (typeof customValidate !== 'function') return { errors, errorSchema };
    const withDefaults = getDefaultFormState<T, S, F>(this, schema, formData, schema, true) as T;
    const custom = customValidate(withDefaults, createErrorHandler<T>(withDefaults), uiSchema, errorSchema);
    return validationDataMerge<T>({ errors, errorSchema }, unwrapErrorHandler<T>(custom));
  }

  isValid(schema: S, formData: T | undefined, rootSchema: S): boolean {
    try {
      return this.#schemas.isValid(schema, formData, rootSchema);
    } catch (err) {
      console.warn('Error encountered validating against a schema:', err);
      return false;
    }
  }

  reset(): void {
    this.#schemas.reset();
  }
}

export const commandValidator = new CspSafeValidator();
