import { Type } from '@sinclair/typebox';
import { ProblemSchema, IdempotencyHeaders } from './schemas.ts';

/** Route documentation shared by every /v1 operation. */
export const problemResponse = {
  description: 'A problem (RFC 9457). 429 answers carry Retry-After.',
  content: { 'application/problem+json': { schema: ProblemSchema } },
};

export const errorResponses = { '4xx': problemResponse, '5xx': problemResponse };
export const bearer = [{ bearerAuth: [] as string[] }];

/** Common schema fields for an operation; mutating ones document the Idempotency-Key header. */
export function op(tag: string, operationId: string, summary: string, options: { mutating?: boolean; description?: string } = {}) {
  return {
    tags: [tag],
    operationId,
    summary,
    ...(options.description ? { description: options.description } : {}),
    security: bearer,
    ...(options.mutating ? { headers: IdempotencyHeaders } : {}),
  };
}

export const NoContent = Type.Null({ description: 'No content' });
