import Boom from '@hapi/boom';
import type { Lifecycle, Request, ResponseToolkit, Server } from '@hapi/hapi';
import type { ValidationError } from 'joi';
import type { Logger } from 'pino';

/** Stable `error_code`s for responses that carry none of their own. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout'
};

/**
 * An API error with a machine-readable `error_code` and optional extra fields, answered as
 * `{ statusCode, error, message, error_code, ...extra }`.
 */
export function apiError(statusCode: number, errorCode: string, message: string, extra: Record<string, unknown> = {}): Boom.Boom {
  return new Boom.Boom(message, { statusCode, data: { error_code: errorCode, ...extra } });
}

export interface FieldError {
  path: string;
  message: string;
  type: string;
}

/** Joi details as `{ path, message, type }` rows (also used for driver command parameters). */
export function fieldErrors(error: ValidationError): FieldError[] {
  return error.details.map((d) => ({ path: d.path.join('.'), message: d.message, type: d.type }));
}

/**
 * Route validation failures: 400 naming every failing field, with `error_code`
 * `validation_error` and an `errors` list a form can map onto its inputs.
 */
export const validationFailAction: Lifecycle.Method = (_request, _h, err) => {
  const source = ((err as Boom.Boom).output?.payload as { validation?: { source?: string } } | undefined)?.validation?.source ?? 'request';
  const details = (err as unknown as ValidationError).details;
  if (!Array.isArray(details)) throw Boom.badRequest(`Invalid ${source} input`);
  const errors = fieldErrors(err as unknown as ValidationError);
  throw apiError(400, 'validation_error', errors.map((e) => e.message).join('; '), { source, errors });
};

/**
 * Gives every error response the same JSON shape with an `error_code`, merging the extra
 * fields of apiError(); logs 5xx errors, which must never be expected behaviour.
 */
export function registerErrorShaping(server: Server, logger: Logger): void {
  server.ext('onPreResponse', (request: Request, h: ResponseToolkit) => {
    const response = request.response;
    if (!Boom.isBoom(response)) return h.continue;
    const payload = response.output.payload as unknown as Record<string, unknown>;
    // Only apiError()'s fields are for clients; other errors' data (a zlib errno…) is internal.
    const data = response.data && typeof response.data === 'object' ? (response.data as Record<string, unknown>) : {};
    if (typeof data.error_code === 'string') {
      for (const [key, value] of Object.entries(data)) {
        if (!(key in payload)) payload[key] = value;
      }
    }
    payload.error_code ??= CODE_BY_STATUS[response.output.statusCode] ?? 'error';
    delete payload.validation;
    if (response.output.statusCode >= 500) {
      (request.logger ?? logger).error({ err: response, path: request.path }, 'request failed');
    }
    return h.continue;
  });
}
