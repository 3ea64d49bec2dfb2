import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, type DomainErrorCode } from '../domain/errors.ts';

/**
 * esimhub's own error envelope (sandbox, internal and native APIs):
 * `{ "error": { "type", "code", "message", "request_id" } }` with one status per code.
 */
const STATUS_FOR: Record<DomainErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  package_not_found: 404,
  order_not_found: 404,
  esim_not_found: 404,
  insufficient_balance: 402,
  price_mismatch: 409,
  amount_mismatch: 409,
  invalid_state: 409,
  insufficient_profiles: 409,
  order_in_progress: 409,
  idempotency_conflict: 409,
  partner_suspended: 403,
  unauthenticated: 401,
  rate_limited: 429,
  conflict: 409,
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `wireCodes` lets an API answer some domain failures with another code in `error.code` (the sandbox answers
 * a refused transition with eSIM Access's `200002`, as the eSIM Access API does).
 */
export function sendNativeError(request: FastifyRequest, reply: FastifyReply, error: unknown, wireCodes: Partial<Record<DomainErrorCode, string>> = {}) {
  if (error instanceof HttpError) {
    return reply.code(error.status).send({ error: { type: typeFor(error.status), code: error.code, message: error.message, request_id: request.id } });
  }
  if (isDomainError(error)) {
    const status = STATUS_FOR[error.code] ?? 400;
    return reply.code(status).send({ error: { type: typeFor(status), code: wireCodes[error.code] ?? error.code, message: error.message, request_id: request.id } });
  }
  const withStatus = error as { statusCode?: number; message?: string; validation?: unknown };
  if (withStatus.statusCode && withStatus.statusCode >= 400 && withStatus.statusCode < 500) {
    return reply.code(withStatus.statusCode).send({ error: { type: 'invalid_request', code: 'invalid_request', message: withStatus.message ?? 'invalid request', request_id: request.id } });
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send({ error: { type: 'internal_error', code: 'internal_error', message: 'Internal error', request_id: request.id } });
}

function typeFor(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found';
  if (status === 409 || status === 402) return 'state_error';
  if (status === 429) return 'rate_limited';
  return 'invalid_request';
}
