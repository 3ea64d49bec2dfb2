/**
 * Price model of the simulated catalogue. Money is in 1/10,000 USD. A location has a cost index (USD for
 * 1GB over 7 days); bigger bundles are cheaper per GB and longer validity costs a little more, which is
 * roughly how wholesale eSIM price sheets look.
 */

export const GB = 1_073_741_824;
export const MB = 1_048_576;

/** Volumes are given in GB (0.1 = 100MB, as eSIM Access slugs write them). */
export function volumeBytes(gb: number): number {
  return gb >= 1 ? gb * GB : Math.round(gb * 1000) * MB;
}

/** "1GB", "500MB" for names. */
export function volumeLabel(gb: number): string {
  return gb >= 1 ? `${gb}GB` : `${Math.round(gb * 1000)}MB`;
}

const DURATION_FACTOR: Record<number, number> = { 1: 0.85, 3: 0.9, 7: 1, 15: 1.1, 30: 1.2, 90: 1.5, 180: 1.8 };

/** Per-GB price falls with size: small packs (where fixed costs dominate) fall more slowly. */
function volumeFactor(gb: number): number {
  return gb >= 1 ? gb ** 0.8 : gb ** 0.55;
}

/** Rounds to whole cents (100 units), never below 5 cents. */
function toMinor(usd: number): number {
  return Math.max(500, Math.round(usd * 100) * 100);
}

/** Wholesale list price of a plan of `gb` for `days`. US 1GB/7 days with cost 0.6 gives 6000 ($0.60). */
export function planPrice(costPerGb: number, gb: number, days: number): number {
  const durationFactor = DURATION_FACTOR[days];
  if (durationFactor === undefined) throw new Error(`no duration factor for ${days} days`);
  return toMinor(costPerGb * volumeFactor(gb) * durationFactor);
}

/** Day-pass price is per day; a hard cut-off (data type 3) is a bit cheaper than throttling (type 2). */
export function dayPassPrice(costPerGb: number, dailyGb: number, dataType: number): number {
  const factor = dataType === 3 ? 0.8 : dataType === 4 ? 1.1 : 0.85;
  return toMinor(costPerGb * volumeFactor(dailyGb) * factor);
}

/** Suggested retail price: 1.4–2× wholesale (by `spread` in [0, 1)), rounded up to the cent. */
export function retailPrice(price: number, spread: number): number {
  return Math.ceil((price * (1.4 + spread * 0.6)) / 100) * 100;
}
