import type { OperatorTable } from '../../store/schema.ts';
import { OPERATORS_PER_COUNTRY } from './operators.ts';

/** One entry of a package's `locationNetworkList` (stored as networks_json). */
export interface LocationNetwork {
  locationName: string;
  locationLogo: string;
  locationCode: string;
  operatorList: { operatorName: string; networkType: string }[];
}

export function flagPath(countryCode: string): string {
  return `/img/flags/${countryCode.toLowerCase()}.png`;
}

/**
 * Builds networks for packages from country names and ranked operators. Entries per country are memoised:
 * thousands of packages share a few hundred countries, and a global plan lists 120 of them.
 */
export class NetworkListBuilder {
  private readonly entries = new Map<string, LocationNetwork>();
  private readonly json = new Map<string, string>();

  constructor(
    private readonly countryNames: ReadonlyMap<string, string>,
    private readonly operators: ReadonlyMap<string, readonly OperatorTable[]>,
  ) {}

  entry(countryCode: string): LocationNetwork {
    let entry = this.entries.get(countryCode);
    if (!entry) {
      entry = {
        locationName: this.countryNames.get(countryCode) ?? countryCode,
        locationLogo: flagPath(countryCode),
        locationCode: countryCode,
        operatorList: (this.operators.get(countryCode) ?? [])
          .slice(0, OPERATORS_PER_COUNTRY)
          .map((op) => ({ operatorName: op.name, networkType: op.network_types })),
      };
      this.entries.set(countryCode, entry);
    }
    return entry;
  }

  /** networks_json for a package covering these countries (one entry per country, in the given order). */
  toJson(countryCodes: readonly string[]): string {
    const key = countryCodes.join(',');
    let text = this.json.get(key);
    if (text === undefined) {
      text = JSON.stringify(countryCodes.map((cc) => this.entry(cc)));
      this.json.set(key, text);
    }
    return text;
  }

  /** "4G/5G" when most covered countries have a 5G network listed, else "3G/4G". */
  speed(countryCodes: readonly string[]): string {
    if (countryCodes.length === 0) return '3G/4G';
    const with5g = countryCodes.filter((cc) => this.entry(cc).operatorList.some((op) => op.networkType.includes('5G'))).length;
    return with5g * 2 > countryCodes.length ? '4G/5G' : '3G/4G';
  }
}
