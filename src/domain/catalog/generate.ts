import type { LocationMemberTable, LocationTable, OperatorTable, PackageTable } from '../../store/schema.ts';
import { buildLocations, listCountries, listRegions, type Region } from './locations.ts';
import { NetworkListBuilder } from './networks.ts';
import { buildOperators, operatorsByCountry } from './operators.ts';
import { dayPassPrice, planPrice, retailPrice, volumeBytes, volumeLabel } from './pricing.ts';
import { hash32, pick, seededRandom } from './prng.ts';

export interface SandboxCatalog {
  locations: LocationTable[];
  members: LocationMemberTable[];
  operators: OperatorTable[];
  packages: PackageTable[];
}

/** [GB, days] */
type Plan = readonly [number, number];

/** Busy travel markets: the widest range of plans, day passes and top-ups, and the lowest prices. */
const POPULAR = new Set([
  'US', 'CA', 'MX', 'GB', 'FR', 'DE', 'IT', 'ES', 'PT', 'NL', 'BE', 'CH', 'AT', 'GR', 'TR', 'IE', 'PL', 'CZ', 'SE', 'NO',
  'DK', 'FI', 'IS', 'HR', 'HU', 'JP', 'KR', 'CN', 'HK', 'MO', 'TW', 'TH', 'SG', 'MY', 'ID', 'VN', 'PH', 'IN', 'AE', 'SA',
  'QA', 'IL', 'EG', 'MA', 'ZA', 'AU', 'NZ', 'BR', 'AR', 'CL', 'CO', 'PE',
]);
/** Remote or uninhabited places served by roaming only: a few small, expensive plans, no top-ups. */
const REMOTE = new Set([
  'AQ', 'BV', 'HM', 'TF', 'GS', 'UM', 'PN', 'IO', 'SJ', 'EH', 'KP', 'CX', 'CC', 'NF', 'TK', 'NU', 'WF', 'PM', 'SH', 'FK',
]);

/** The anchor of the price model and of sandbox demos: US 1GB / 7 days costs $0.60. */
const US_COST_PER_GB = 0.6;

const PLANS = {
  popular: {
    base: [[0.5, 3], [1, 7], [1, 30], [3, 15], [3, 30], [5, 30], [10, 30], [20, 30], [50, 90], [50, 180]],
    topup: [[1, 7], [3, 30], [5, 30], [10, 30], [20, 30]],
  },
  standard: {
    base: [[0.5, 7], [1, 7], [3, 15], [3, 30], [5, 30], [10, 30], [20, 90]],
    topup: [[1, 7], [3, 30], [5, 30]],
  },
  remote: { base: [[0.1, 7], [0.5, 7], [1, 7], [3, 30]], topup: [] },
  region: {
    base: [[1, 7], [3, 15], [3, 30], [5, 30], [10, 30], [20, 30], [20, 90], [50, 180]],
    topup: [[1, 7], [3, 30], [5, 30], [10, 30]],
  },
  global: { base: [[1, 7], [3, 15], [5, 30], [10, 30], [20, 90]], topup: [[1, 7], [3, 30], [5, 30]] },
} satisfies Record<string, { base: Plan[]; topup: Plan[] }>;

/** A day pass: daily volume in GB and eSIM Access data type (2 throttled, 3 cut off, 4 unlimited with FUP). */
interface DayPass {
  gb: number;
  dataType: 2 | 3 | 4;
}

const UNLIMITED_DAILY_GB = 5;

/** Regions where the breakout (IP export) country is typical for that market's aggregators. */
const REGION_IP_EXPORT: Record<string, string> = {
  Europe: 'UK',
  Asia: 'HK',
  'North America': 'US',
  'Latin America': 'US',
  'Middle East': 'NL',
  Africa: 'UK',
  Oceania: 'AU',
  Caribbean: 'US',
  Global: 'HK',
};

/** What the generator needs to know about one location (country or region) to emit its packages. */
interface Offer {
  code: string;
  name: string;
  /** Covered countries (for a country: itself). */
  countries: string[];
  isRegion: boolean;
  costPerGb: number;
  base: readonly Plan[];
  topup: readonly Plan[];
  dayPasses: DayPass[];
  smsStatus: number;
  activeType: number;
  ipExport: string;
}

/** eSIM Access writes the UK as "UK" in ipExport, not the ISO "GB". */
function ipCountry(code: string): string {
  return code === 'GB' ? 'UK' : code;
}

function countryOffer(code: string, name: string): Offer {
  const random = seededRandom(`offer:${code}`);
  const kind = POPULAR.has(code) ? 'popular' : REMOTE.has(code) ? 'remote' : 'standard';
  const costPerGb =
    code === 'US' ? US_COST_PER_GB : kind === 'popular' ? 0.5 + random() * 0.8 : kind === 'remote' ? 5 + random() * 7 : 1.2 + random() * 3.3;
  const dayPasses: DayPass[] =
    kind === 'popular'
      ? [{ gb: 0.5, dataType: 2 }, { gb: 1, dataType: 2 }, { gb: 3, dataType: 3 }, { gb: UNLIMITED_DAILY_GB, dataType: 4 }]
      : kind === 'standard'
        ? random() < 0.3
          ? [{ gb: 1, dataType: 2 }, { gb: UNLIMITED_DAILY_GB, dataType: 4 }]
          : [{ gb: 1, dataType: 2 }]
        : [];
  // Most standard markets can be topped up; some small operators' profiles cannot.
  const topup = kind === 'standard' && random() >= 0.85 ? [] : PLANS[kind].topup;
  const smsRoll = random();
  return {
    code,
    name,
    countries: [code],
    isRegion: false,
    costPerGb,
    base: PLANS[kind].base,
    topup,
    dayPasses,
    smsStatus: smsRoll < 0.08 ? 1 : smsRoll < 0.12 ? 2 : 0,
    activeType: random() < 0.75 ? 2 : 1,
    // Chinese plans break out in Hong Kong so common apps work; popular markets mostly break out locally.
    ipExport: code === 'CN' ? 'HK' : kind === 'popular' ? ipCountry(code) : pick(random, ['HK', 'UK', 'NL', ipCountry(code)]),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function regionOffer(region: Region, countryCosts: ReadonlyMap<string, number>): Offer {
  const random = seededRandom(`offer:${region.code}`);
  const isGlobal = region.group === 'Global';
  // Multi-country plans cost more than the typical member: the carrier must buy roaming everywhere.
  const costPerGb = median(region.members.map((cc) => countryCosts.get(cc) ?? 2)) * (isGlobal ? 1.6 : 1.15);
  const withUnlimited = region.group === 'Europe' || region.group === 'Asia' || region.group === 'North America';
  return {
    code: region.code,
    name: region.name,
    countries: region.members,
    isRegion: true,
    costPerGb,
    base: isGlobal ? PLANS.global.base : PLANS.region.base,
    topup: isGlobal ? PLANS.global.topup : PLANS.region.topup,
    dayPasses: isGlobal ? [] : withUnlimited ? [{ gb: 1, dataType: 2 }, { gb: UNLIMITED_DAILY_GB, dataType: 4 }] : [{ gb: 1, dataType: 2 }],
    smsStatus: random() < 0.2 ? 1 : 0,
    activeType: 2,
    ipExport: REGION_IP_EXPORT[region.group] ?? 'HK',
  };
}

const CODE_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

/**
 * `CKH491`-style codes derived from the slug, so a package keeps its code across releases even when
 * other packages are added; collisions are resolved deterministically by re-hashing with a counter.
 */
function packageCodeFor(slug: string, taken: Set<string>): string {
  for (let attempt = 0; ; attempt++) {
    let h = hash32(attempt === 0 ? slug : `${slug}#${attempt}`);
    let code = '';
    for (let i = 0; i < 3; i++) {
      code += CODE_LETTERS[h % CODE_LETTERS.length];
      h = Math.floor(h / CODE_LETTERS.length);
    }
    code += String(h % 1000).padStart(3, '0');
    if (!taken.has(code)) {
      taken.add(code);
      return code;
    }
  }
}

/** Emits the packages of one offer, appending to `out`. */
class PackageEmitter {
  private readonly codes = new Set<string>();
  private sortOrder = 0;
  readonly out: PackageTable[] = [];

  constructor(
    private readonly networks: NetworkListBuilder,
    private readonly nowMs: number,
  ) {}

  emit(offer: Offer): void {
    const random = seededRandom(`packages:${offer.code}`);
    const networksJson = this.networks.toJson(offer.countries);
    const speed = this.networks.speed(offer.countries);
    const hasTopups = offer.topup.length > 0;
    const common = {
      currency_code: 'USD',
      sms_status: offer.smsStatus,
      duration_unit: 'DAY',
      location_code: offer.code,
      location: offer.countries.join(','),
      active_type: offer.activeType,
      favorite: 0,
      speed,
      ip_export: offer.ipExport,
      networks_json: networksJson,
      supply: 'simulated',
      status: 'active' as const,
      created_at: this.nowMs,
      updated_at: this.nowMs,
    };

    for (const [gb, days] of offer.base) {
      const price = planPrice(offer.costPerGb, gb, days);
      const name = `${offer.name} ${volumeLabel(gb)} ${days}Days`;
      this.push({
        ...common,
        slug: `${offer.code}_${gb}_${days}`,
        name,
        type: 'BASE',
        price,
        retail_price: retailPrice(price, random()),
        volume: volumeBytes(gb),
        data_type: 1,
        duration: days,
        unused_valid_time: random() < 0.2 ? 30 : 180,
        description: `${volumeLabel(gb)} of data to use within ${days} days in ${offer.name}.`,
        support_topup_type: hasTopups ? 2 : 1,
        fup_policy: '',
        is_daypass: 0,
        topup_group: offer.code,
      });
    }

    for (const pass of offer.dayPasses) {
      const price = dayPassPrice(offer.costPerGb, pass.gb, pass.dataType);
      const unlimited = pass.dataType === 4;
      const label = unlimited ? 'Unlimited' : volumeLabel(pass.gb);
      this.push({
        ...common,
        slug: `${offer.code}_${unlimited ? 'Unlimited' : pass.gb}_Daily`,
        name: `${offer.name} ${label}/Day`,
        type: 'BASE',
        price,
        retail_price: retailPrice(price, random()),
        volume: volumeBytes(pass.gb),
        data_type: pass.dataType,
        duration: 1,
        unused_valid_time: 30,
        description: unlimited
          ? `Unlimited data per day in ${offer.name}; ${volumeLabel(pass.gb)} per day at full speed.`
          : `${volumeLabel(pass.gb)} of data per day in ${offer.name}, priced per day.`,
        // Day passes are extended by ordering more days (periodNum), not by top-ups: they get their own
        // group without top-ups, so a top-up lookup for a day pass correctly finds nothing.
        support_topup_type: 1,
        fup_policy:
          pass.dataType === 4
            ? `After ${volumeLabel(pass.gb)} of high-speed data per day, speed is reduced to 512 kbps until the next day.`
            : pass.dataType === 2
              ? `After ${volumeLabel(pass.gb)} per day, speed is reduced to 128 kbps until the next day.`
              : '',
        is_daypass: 1,
        topup_group: `${offer.code}_DAILY`,
      });
    }

    for (const [gb, days] of offer.topup) {
      // Top-ups carry a small premium over the equivalent base plan.
      const price = Math.round((planPrice(offer.costPerGb, gb, days) * 1.05) / 100) * 100;
      this.push({
        ...common,
        slug: `TOPUP_${offer.code}_${gb}_${days}`,
        name: `${offer.name} ${volumeLabel(gb)} ${days}Days Top-up`,
        type: 'TOPUP',
        price,
        retail_price: retailPrice(price, random()),
        volume: volumeBytes(gb),
        data_type: 1,
        duration: days,
        unused_valid_time: 180,
        description: `Adds ${volumeLabel(gb)} for ${days} days to a ${offer.name} eSIM.`,
        support_topup_type: 2,
        fup_policy: '',
        is_daypass: 0,
        topup_group: offer.code,
      });
    }
  }

  private push(row: Omit<PackageTable, 'package_code' | 'sort_order'>): void {
    this.out.push({ ...row, package_code: packageCodeFor(row.slug, this.codes), sort_order: ++this.sortOrder });
  }
}

/**
 * The simulated sandbox catalogue: every country and region with realistic plans. Deterministic: the
 * same input data gives the same rows every run (only created_at/updated_at follow `nowMs`).
 */
export function generateSandboxCatalog(nowMs: number): SandboxCatalog {
  const { locations, members } = buildLocations();
  const countries = listCountries();
  const operators = buildOperators(countries.map((c) => c.code));
  const networks = new NetworkListBuilder(new Map(countries.map((c) => [c.code, c.name])), operatorsByCountry(operators));
  const emitter = new PackageEmitter(networks, nowMs);

  const countryCosts = new Map<string, number>();
  for (const country of countries) {
    const offer = countryOffer(country.code, country.name);
    countryCosts.set(country.code, offer.costPerGb);
    emitter.emit(offer);
  }
  for (const region of listRegions()) emitter.emit(regionOffer(region, countryCosts));

  return { locations, members, operators, packages: emitter.out };
}
