import type { DriverDefinition } from '@bilbycast/driver-sdk';
import type { LoadedDriver, RefusedDriver } from './discovery';

/** A loaded driver as the CLI and the API list it. */
export function describeDriver(d: LoadedDriver) {
  return {
    device_type: d.definition.device_type,
    display_name: d.definition.display_name,
    package: d.package,
    version: d.version,
    source: d.source,
    commands: d.definition.commands.map((c) => c.name)
  };
}

/** The drivers this manager runs with, by device type, plus those it refused and why. */
export class DriverRegistry {
  readonly #byType = new Map<string, LoadedDriver>();
  readonly refused: readonly RefusedDriver[];

  constructor(loaded: LoadedDriver[], refused: RefusedDriver[]) {
    for (const driver of loaded) this.#byType.set(driver.definition.device_type, driver);
    this.refused = refused;
  }

  list(): LoadedDriver[] {
    return [...this.#byType.values()].sort((a, b) => a.definition.device_type.localeCompare(b.definition.device_type));
  }

  get(deviceType: string): LoadedDriver | undefined {
    return this.#byType.get(deviceType);
  }

  definition(deviceType: string): DriverDefinition | undefined {
    return this.#byType.get(deviceType)?.definition;
  }
}
