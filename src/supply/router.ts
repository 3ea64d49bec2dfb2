import type { PackageTable } from '../store/schema.ts';
import type { ProfileSource } from './types.ts';

/** Chooses the profile source per environment and package: sandbox → simulated SM-DP+, live → the package's supply. */
export class SupplyRouter {
  constructor(
    private readonly simulated: ProfileSource,
    private readonly live: Record<string, ProfileSource>,
    private readonly liveDefault: ProfileSource,
  ) {}

  sourceFor(environment: 'sandbox' | 'live', pkg: PackageTable): ProfileSource {
    if (environment === 'sandbox') return this.simulated;
    return this.live[pkg.supply] ?? this.liveDefault;
  }
}
