import { randomInt } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB } from '../store/schema.ts';
import { randomDigits } from '../lib/ids.ts';
import { makeIccid, makeMatchingId } from '../domain/esims/identifiers.ts';
import type { ProfileRequest, ProfileSource, SuppliedProfile } from './types.ts';

/** E.164 country calling codes for plausible sandbox MSISDNs; others get the international +882 range. */
const CALLING_CODES: Record<string, string> = {
  US: '1', CA: '1', GB: '44', FR: '33', DE: '49', ES: '34', IT: '39', NL: '31', JP: '81', KR: '82', CN: '86', HK: '852',
  SG: '65', TH: '66', VN: '84', AU: '61', NZ: '64', MX: '52', BR: '55', IN: '91', AE: '971', TR: '90', CH: '41', AT: '43',
};

/**
 * The sandbox SM-DP+: makes realistic profiles on demand. ICCIDs are Luhn-valid and unique (issuer prefix
 * 8852 + a 12-digit serial from the eSIM's sequence number and randomness); the IMSI starts with the MCC/MNC
 * of a real operator in the package's first country.
 */
export class SimulatedSmdp implements ProfileSource {
  readonly name = 'simulated';

  /** Operators per country, read once: the operator table only changes with a catalogue import. */
  private readonly operatorsByCountry = new Map<string, Array<{ mcc: string; mnc: string; name: string }>>();

  constructor(private readonly smdpHost: string) {}

  async available(): Promise<number | null> {
    return null;
  }

  async take(trx: Transaction<DB>, request: ProfileRequest): Promise<SuppliedProfile> {
    const country = request.pkg.location.split(',')[0]?.trim() || 'US';
    let operators = this.operatorsByCountry.get(country);
    if (!operators) {
      operators = await trx.selectFrom('operators').select(['mcc', 'mnc', 'name']).where('country_code', '=', country).limit(8).execute();
      this.operatorsByCountry.set(country, operators);
    }
    const operator = operators.length ? operators[randomInt(operators.length)] : { mcc: '001', mnc: '01', name: 'Test' };
    const plmn = operator.mcc + operator.mnc;
    const imsi = plmn + randomDigits(15 - plmn.length);
    const calling = CALLING_CODES[country] ?? '882';
    const msisdn = calling + randomDigits(Math.min(15, calling.length + 10) - calling.length);
    // 8852: an issuer prefix in the +852 range, as many travel-eSIM wholesalers use; the serial mixes the
    // eSIM id's randomness so two sandboxes on one machine do not collide.
    const serial = randomDigits(13);
    const iccid = makeIccid('852', serial);
    const withConfirmation = request.pkg.sms_status === 2; // a deterministic slice of packages exercises confirmation codes
    return {
      iccid,
      imsi,
      msisdn,
      smdpAddress: this.smdpHost,
      matchingId: makeMatchingId(),
      confirmationCode: withConfirmation ? randomDigits(6) : null,
      pin: randomDigits(4),
      puk: randomDigits(8),
      apn: 'esimhub.sandbox',
      supply: this.name,
      poolProfileId: null,
    };
  }
}
