/**
 * A problem an operator must fix before the manager can run: bad configuration, a master key
 * that does not match the database, a port already in use, conflicting drivers. The CLI
 * prints its message as one line and exits with status 2.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
