/**
 * What a license grants, asked by routes and services in one call. Without a license plugin
 * every feature is available and the node allowance is unlimited; a license plugin installs
 * its own answer with `provide`.
 */
export interface FeatureLicense {
  /** Whether a licensed feature (e.g. `st2110`, `ai`) may be used. */
  allows(feature: string): boolean;
  /** How many nodes may be registered; null: no limit. */
  nodeAllowance(): number | null;
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

  nodeAllowance(): number | null {
    return this.#license ? this.#license.nodeAllowance() : null;
  }
}
