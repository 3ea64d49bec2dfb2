/**
 * The domain's closed set of failure reasons. Dialects map each to their own wire code and message;
 * the domain never knows a dialect's numbers.
 */
export type DomainErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'package_not_found'
  | 'order_not_found'
  | 'esim_not_found'
  | 'insufficient_balance'
  | 'price_mismatch'
  | 'amount_mismatch'
  | 'invalid_state'
  | 'insufficient_profiles'
  | 'order_in_progress'
  | 'idempotency_conflict'
  | 'partner_suspended'
  | 'unauthenticated'
  | 'rate_limited'
  | 'conflict';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
