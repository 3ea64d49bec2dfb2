import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, type DomainErrorCode } from '../../domain/errors.ts';

/**
 * RFC 9457 problem details for /v1: `application/problem+json` with `type`, `title`, `status`, `detail`,
 * `instance`, plus our `code` (one of PROBLEM_CODES, a closed list), `request_id` and, for validation
 * failures, `errors` [{ loc, msg, type }]. One status per code, decided here and nowhere else.
 */
export const PROBLEM_STATUS = {
  invalid_request: 400,
  unauthenticated: 401,
  insufficient_balance: 402,
  forbidden: 403,
  not_found: 404,
  package_not_found: 404,
  order_not_found: 404,
  esim_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  invalid_state: 409,
  price_mismatch: 409,
  amount_mismatch: 409,
  insufficient_profiles: 409,
  order_in_progress: 409,
  idempotency_key_in_use: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  webhook_unreachable: 422,
  rate_limited: 429,
  internal_error: 500,
} as const;

export type ProblemCode = keyof typeof PROBLEM_STATUS;
export const PROBLEM_CODES = Object.keys(PROBLEM_STATUS) as ProblemCode[];

const TITLES: Record<ProblemCode, string> = {
  invalid_request: 'The request is invalid',
  unauthenticated: 'Authentication is required',
  insufficient_balance: 'The balance is insufficient',
  forbidden: 'The request is not allowed for this account',
  not_found: 'Not found',
  package_not_found: 'The package does not exist',
  order_not_found: 'The order does not exist',
  esim_not_found: 'The eSIM does not exist',
  method_not_allowed: 'Method not allowed',
  conflict: 'The request conflicts with the current state',
  invalid_state: 'The operation is not allowed in the current state',
  price_mismatch: 'The price given does not match the price',
  amount_mismatch: 'The amount given does not match the total',
  insufficient_profiles: 'Not enough profiles in stock',
  order_in_progress: 'The order is still being allocated',
  idempotency_key_in_use: 'A request with this Idempotency-Key is still in progress',
  payload_too_large: 'The request body is too large',
  unsupported_media_type: 'The request body must be JSON',
  idempotency_key_reused: 'The Idempotency-Key was used with different parameters',
  webhook_unreachable: 'The webhook endpoint did not answer the test send',
  rate_limited: 'Too many requests',
  internal_error: 'Internal error',
};

export const PROBLEM_TYPE_BASE = 'https://esimhub.dev/problems/';

export interface FieldError {
  loc: string;
  msg: string;
  type: string;
}

export class Problem extends Error {
  constructor(
    readonly code: ProblemCode,
    message: string,
    readonly options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
  get status(): number {
    return PROBLEM_STATUS[this.code];
  }
}

const FROM_DOMAIN: Record<DomainErrorCode, ProblemCode> = {
  invalid_argument: 'invalid_request',
  not_found: 'not_found',
  package_not_found: 'package_not_found',
  order_not_found: 'order_not_found',
  esim_not_found: 'esim_not_found',
  insufficient_balance: 'insufficient_balance',
  price_mismatch: 'price_mismatch',
  amount_mismatch: 'amount_mismatch',
  invalid_state: 'invalid_state',
  insufficient_profiles: 'insufficient_profiles',
  order_in_progress: 'order_in_progress',
  idempotency_conflict: 'conflict',
  partner_suspended: 'forbidden',
  unauthenticated: 'unauthenticated',
  rate_limited: 'rate_limited',
  conflict: 'conflict',
};

export function problemBody(request: FastifyRequest, code: ProblemCode, detail: string, errors?: FieldError[]) {
  return {
    type: PROBLEM_TYPE_BASE + code,
    title: TITLES[code],
    status: PROBLEM_STATUS[code],
    detail,
    instance: request.url.split('?')[0],
    code,
    request_id: String(request.id),
    ...(errors && errors.length ? { errors } : {}),
  };
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function fieldErrors(validation: ValidationIssue[], context: string | undefined): FieldError[] {
  return validation.map((v) => {
    let loc = `${context ?? 'body'}${(v.instancePath ?? '').replace(/\//g, '.')}`;
    if (v.keyword === 'required' && typeof v.params?.missingProperty === 'string') loc += `.${v.params.missingProperty}`;
    if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') loc += `.${v.params.additionalProperty}`;
    return { loc, msg: v.message ?? 'is invalid', type: v.keyword ?? 'invalid' };
  });
}

/** Maps anything thrown in /v1 to a problem and sends it (as a string: the route's serializer is not used). */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  let code: ProblemCode;
  let detail: string;
  let errors: FieldError[] | undefined;
  if (error instanceof Problem) {
    code = error.code;
    detail = error.message;
    errors = error.options.errors;
    for (const [name, value] of Object.entries(error.options.headers ?? {})) reply.header(name, value);
  } else if (isDomainError(error)) {
    code = FROM_DOMAIN[error.code] ?? 'invalid_request';
    detail = error.message;
  } else {
    const e = error as { statusCode?: number; code?: string; message?: string; validation?: ValidationIssue[]; validationContext?: string };
    if (e.validation) {
      code = 'invalid_request';
      errors = fieldErrors(e.validation, e.validationContext);
      detail = errors.map((f) => `${f.loc} ${f.msg}`).join('; ');
    } else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      code = 'payload_too_large';
      detail = e.message ?? 'request body is too large';
    } else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      code = 'unsupported_media_type';
      detail = 'send the body as application/json';
    } else if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      code = 'invalid_request';
      detail = e.message ?? 'invalid request';
    } else {
      request.log.error({ err: error }, 'unhandled error in /v1');
      code = 'internal_error';
      detail = 'An unexpected error occurred; quote the request_id when you contact support';
    }
  }
  const body = problemBody(request, code, detail, errors);
  return reply.code(body.status).type('application/problem+json').send(JSON.stringify(body));
}
