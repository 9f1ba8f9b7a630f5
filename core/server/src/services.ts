/**
 * Named services that plugins provide to each other and to the CLI (in the manner of
 * schmervice), so that core never imports a plugin package.
 */
export class ServiceRegistry {
  readonly #services = new Map<string, unknown>();

  provide<K extends keyof ManagerServices>(name: K, service: ManagerServices[K]): void {
    if (this.#services.has(name)) throw new Error(`service "${name}" is already provided`);
    this.#services.set(name, service);
  }

  get<K extends keyof ManagerServices>(name: K): ManagerServices[K] | undefined {
    return this.#services.get(name) as ManagerServices[K] | undefined;
  }
}

/**
 * The services plugins provide, by name. Core declares none: each is declared, with its typed
 * interface, by declaration merging — `declare module '@bilbycast/core' { interface
 * ManagerServices { x: X } }` — in the package that both its provider and its users can
 * import (the one the other already depends on), so that no plugin reads another's tables
 * or files.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by plugins
export interface ManagerServices {}
