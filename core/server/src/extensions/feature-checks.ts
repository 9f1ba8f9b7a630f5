/**
 * What a license grants, asked by routes and services in one call. Without a license plugin
 * every feature is available and nothing is limited; a license plugin installs its own answer
 * with `provide`.
 */
export interface FeatureLicense {
  /** Whether a licensed feature (e.g. `st2110`, `ai`) may be used. */
  allows(feature: string): boolean;
  /** How many of a counted thing (named by the plugin that counts it, e.g. `nodes`) are allowed; null: no limit. */
  limit(name: string): number | null;
}

export class FeatureChecks implements FeatureLicense {
  #license: FeatureLicense | undefined;

  /** Installs the license plugin's answer (once). */
  provide(license: FeatureLicense): void {
    if (this.#license) throw new Error('a feature license is already provided');
    this.#license = license;
  }

  allows(feature: string): boolean {
    return this.#license?.allows(feature) ?? true;
  }

  limit(name: string): number | null {
    return this.#license ? this.#license.limit(name) : null;
  }
}
