import { createRequire } from 'node:module';
import type { LocationMemberTable, LocationTable } from '../../store/schema.ts';

// The library's main entry registers ~80 locales on import; we only need English, so we load the
// bare index and register `en` ourselves (keeps start-up fast).
const require = createRequire(import.meta.url);
const countries = require('i18n-iso-countries/index.js') as typeof import('i18n-iso-countries');
countries.registerLocale(require('i18n-iso-countries/langs/en.json'));

/**
 * ISO "official" names are sometimes formal or inverted ("Korea, Republic of", "Virgin Islands, U.S.").
 * Travellers pick a destination from a list, so we use the everyday English name instead.
 */
const HUMAN_NAMES: Record<string, string> = {
  BN: 'Brunei',
  BQ: 'Caribbean Netherlands',
  CC: 'Cocos (Keeling) Islands',
  CD: 'DR Congo',
  CG: 'Congo',
  CI: "Côte d'Ivoire",
  CN: 'China',
  CZ: 'Czech Republic',
  FK: 'Falkland Islands',
  FM: 'Micronesia',
  GB: 'United Kingdom',
  GM: 'Gambia',
  IR: 'Iran',
  KP: 'North Korea',
  KR: 'South Korea',
  LA: 'Laos',
  MD: 'Moldova',
  MF: 'Saint Martin',
  MK: 'North Macedonia',
  PS: 'Palestine',
  RE: 'Réunion',
  RU: 'Russia',
  SX: 'Sint Maarten',
  SY: 'Syria',
  TR: 'Turkey',
  TW: 'Taiwan',
  TZ: 'Tanzania',
  US: 'United States',
  VA: 'Vatican City',
  VG: 'British Virgin Islands',
  VI: 'U.S. Virgin Islands',
};

export interface CountryInfo {
  code: string;
  name: string;
}

let countryCache: CountryInfo[] | null = null;

/** Every ISO 3166-1 alpha-2 country (plus XK Kosovo, which the library includes), sorted by name. */
export function listCountries(): CountryInfo[] {
  if (!countryCache) {
    const official = countries.getNames('en', { select: 'official' });
    countryCache = Object.keys(official)
      .map((code) => ({ code, name: HUMAN_NAMES[code] ?? official[code] }))
      .sort((a, b) => a.name.localeCompare(b.name, 'en') || a.code.localeCompare(b.code));
  }
  return countryCache;
}

export interface RegionDef {
  /** Code prefix; the full code is `<prefix>-<member count>`, as eSIM Access names its regions. */
  prefix: string;
  name: string;
  group: string;
  members: readonly string[];
}

const EUROPE_42 = [
  'AL', 'AT', 'AX', 'BA', 'BE', 'BG', 'CH', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GB', 'GI', 'GR', 'HR', 'HU', 'IE',
  'IS', 'IT', 'LI', 'LT', 'LU', 'LV', 'MD', 'ME', 'MK', 'MT', 'NL', 'NO', 'PL', 'PT', 'RO', 'RS', 'SE', 'SI', 'SK', 'TR', 'UA',
];
// EU member states plus the EEA countries (Iceland, Liechtenstein, Norway) where EU roaming rules apply.
const EU_EEA_30 = [
  'AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU', 'IE', 'IS', 'IT', 'LI', 'LT', 'LU',
  'LV', 'MT', 'NL', 'NO', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK',
];
const ASIA_20 = [
  'BD', 'CN', 'HK', 'ID', 'IN', 'JP', 'KH', 'KR', 'LA', 'LK', 'MM', 'MO', 'MY', 'NP', 'PH', 'PK', 'SG', 'TH', 'TW', 'VN',
];
const SOUTHEAST_ASIA_8 = ['ID', 'KH', 'LA', 'MY', 'PH', 'SG', 'TH', 'VN'];
const NORTH_AMERICA_3 = ['US', 'CA', 'MX'];
const LATIN_AMERICA_18 = [
  'AR', 'BO', 'BR', 'CL', 'CO', 'CR', 'DO', 'EC', 'GT', 'HN', 'NI', 'PA', 'PE', 'PR', 'PY', 'SV', 'UY', 'VE',
];
const MIDDLE_EAST_12 = ['AE', 'BH', 'EG', 'IL', 'IQ', 'JO', 'KW', 'LB', 'OM', 'QA', 'SA', 'TR'];
const AFRICA_29 = [
  'BF', 'BW', 'CD', 'CG', 'CI', 'CM', 'DZ', 'EG', 'GA', 'GH', 'KE', 'LR', 'MA', 'MG', 'ML', 'MU', 'MW', 'MZ', 'NE', 'NG',
  'RW', 'SC', 'SN', 'TD', 'TN', 'TZ', 'UG', 'ZA', 'ZM',
];
const OCEANIA_3 = ['AU', 'NZ', 'FJ'];
const CARIBBEAN_25 = [
  'AG', 'AI', 'AW', 'BB', 'BM', 'BQ', 'BS', 'CW', 'DM', 'DO', 'GD', 'GP', 'HT', 'JM', 'KN', 'KY', 'LC', 'MQ', 'MS', 'SX',
  'TC', 'TT', 'VC', 'VG', 'VI',
];
// Global plans cover the big travel markets; the union of the continental lists minus a few small
// African and Caribbean-facing markets that global carriers rarely include, giving 120.
const GLOBAL_EXCLUDED = new Set(['BF', 'CD', 'CG', 'GA', 'LR', 'ML', 'NE', 'TD', 'SC', 'MW', 'LA', 'MM', 'FJ']);
const GLOBAL_120 = [
  ...new Set([...NORTH_AMERICA_3, ...EUROPE_42, ...ASIA_20, ...OCEANIA_3, ...MIDDLE_EAST_12, ...LATIN_AMERICA_18, ...AFRICA_29]),
]
  .filter((c) => !GLOBAL_EXCLUDED.has(c))
  .concat(['JM', 'BS', 'KZ', 'UZ', 'GE', 'AM', 'AZ', 'MN']);

export const REGION_DEFS: readonly RegionDef[] = [
  { prefix: 'EU', name: 'Europe', group: 'Europe', members: EUROPE_42 },
  { prefix: 'EU', name: 'European Union', group: 'Europe', members: EU_EEA_30 },
  { prefix: 'AS', name: 'Asia', group: 'Asia', members: ASIA_20 },
  { prefix: 'SEA', name: 'Southeast Asia', group: 'Asia', members: SOUTHEAST_ASIA_8 },
  { prefix: 'NA', name: 'North America', group: 'North America', members: NORTH_AMERICA_3 },
  { prefix: 'SA', name: 'Latin America', group: 'Latin America', members: LATIN_AMERICA_18 },
  { prefix: 'ME', name: 'Middle East', group: 'Middle East', members: MIDDLE_EAST_12 },
  { prefix: 'AF', name: 'Africa', group: 'Africa', members: AFRICA_29 },
  { prefix: 'OC', name: 'Oceania', group: 'Oceania', members: OCEANIA_3 },
  { prefix: 'CB', name: 'Caribbean', group: 'Caribbean', members: CARIBBEAN_25 },
  { prefix: 'GL', name: 'Global', group: 'Global', members: GLOBAL_120 },
];

export const GLOBAL_GROUP = 'Global';

export interface Region {
  code: string;
  name: string;
  group: string;
  members: string[];
}

/** Regions with their computed codes (`EU-42`): the number is always the member count. */
export function listRegions(): Region[] {
  return REGION_DEFS.map((def) => {
    // Sorted by code: the same order the database gives back, so imports and the generator agree.
    const members = [...new Set(def.members)].sort();
    return {
      code: `${def.prefix}-${members.length}`,
      name: `${def.name} (${members.length} countries)`,
      group: def.group,
      members,
    };
  });
}

export interface LocationRows {
  locations: LocationTable[];
  members: LocationMemberTable[];
}

/** All countries (type 1, alphabetical) followed by the multi-country regions (type 2). */
export function buildLocations(): LocationRows {
  const countryRows: LocationTable[] = listCountries().map((c, i) => ({
    code: c.code,
    name: c.name,
    type: 1,
    region_group: null,
    sort_order: i + 1,
  }));
  const known = new Set(countryRows.map((c) => c.code));
  const regions = listRegions();
  const regionRows: LocationTable[] = regions.map((r, i) => ({
    code: r.code,
    name: r.name,
    type: 2,
    region_group: r.group,
    sort_order: countryRows.length + i + 1,
  }));
  const members: LocationMemberTable[] = [];
  for (const region of regions) {
    for (const cc of region.members) {
      // A typo in a member list would otherwise only surface as a foreign-key error at seed time.
      if (!known.has(cc)) throw new Error(`region ${region.code} lists unknown country ${cc}`);
      members.push({ region_code: region.code, country_code: cc });
    }
  }
  return { locations: [...countryRows, ...regionRows], members };
}
