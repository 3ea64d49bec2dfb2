import type { DomainError, DomainErrorCode } from '../../../domain/errors.ts';

/** The eSIM Access response envelope. `errorMsg` is what clients read; `errorMessage` is what the docs name. */
export interface Envelope {
  success: boolean;
  errorCode: string | null;
  errorMsg: string | null;
  errorMessage: string | null;
  obj: unknown;
}

export function ok(obj: unknown): Envelope {
  return { success: true, errorCode: '0', errorMsg: null, errorMessage: null, obj };
}

export function fail(code: string, message: string): Envelope {
  return { success: false, errorCode: code, errorMsg: message, errorMessage: message, obj: null };
}

/** A failure answered in the envelope with HTTP 200, as eSIM Access does for every business error. */
export class EsimAccessError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 200,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The seed's codes for each domain failure. */
const CODE_FOR: Record<DomainErrorCode, string> = {
  invalid_argument: '000106',
  not_found: '310243',
  package_not_found: '310241',
  order_not_found: '310272',
  esim_not_found: '310403',
  insufficient_balance: '200007',
  price_mismatch: '200005',
  amount_mismatch: '200006',
  invalid_state: '200002',
  insufficient_profiles: '200011',
  order_in_progress: '200010',
  idempotency_conflict: '310402',
  partner_suspended: '401001',
  unauthenticated: '401001',
  rate_limited: '900001',
  conflict: '200009',
};

export function fromDomainError(error: DomainError): Envelope {
  const override = (error.details as { esimAccessCode?: string }).esimAccessCode;
  return fail(override ?? CODE_FOR[error.code] ?? '000001', error.message);
}

export const MESSAGES = {
  serverError: 'Server error',
  headerNull: (name: string) => `Req Header:[${name}] is null`,
  headerInvalid: (name: string) => `Req Header:[${name}] is invalid`,
  methodNotSupported: 'This https request method is not supported, use POST',
  invalidJson: 'Request in invalid JSON format',
  missingParam: (name: string) => `Request parameter [${name}] is mandatory and not contained`,
  nullParam: (name: string) => `Request parameter [${name}] is mandatory and is null`,
};
