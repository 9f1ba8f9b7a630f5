import pino, { type DestinationStream, type Logger } from 'pino';
import type { ManagerConfig } from '../config/schema';

/** Field names whose values never reach a log line, at any depth up to three levels. */
const SECRET_FIELDS = [
  'password',
  'current_password',
  'new_password',
  'token',
  'registration_token',
  'secret',
  'client_secret',
  'master_key',
  'api_key',
  'code',
  'recovery_code'
];

/** The paths pino redacts: credentials in requests and responses, and the secret fields (with a plugin's secret options) at any depth up to three. */
export function redactedPaths(extraSecretFields: readonly string[] = []): string[] {
  return [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["x-csrf-token"]',
    'res.headers["set-cookie"]',
    'req.query.token',
    ...[...SECRET_FIELDS, ...extraSecretFields].flatMap((field) => [field, `*.${field}`, `*.*.${field}`])
  ];
}

/**
 * The manager's pino logger: JSON, or readable output on a terminal (log_format "auto"),
 * with credentials redacted (plugins' secret configuration options too). Tests may pass a
 * destination stream to capture lines.
 */
export function createLogger(
  config: Pick<ManagerConfig, 'log_level' | 'log_format'>,
  destination?: DestinationStream,
  secretOptions: readonly string[] = []
): Logger {
  const options = {
    level: config.log_level,
    base: { service: 'bilbycast-manager' },
    redact: { paths: redactedPaths(secretOptions), censor: '[redacted]' }
  };
  const pretty = !destination && (config.log_format === 'pretty' || (config.log_format === 'auto' && process.stdout.isTTY === true));
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } });
  }
  return destination ? pino(options, destination) : pino(options);
}
