import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { esimTimeline } from '../../domain/console/esim-timeline.ts';
import { findEsimByRef } from '../v1/queries.ts';
import { useStrictValidation } from '../v1/validation.ts';
import { requireSession } from './auth-api.ts';

const EsimParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

/**
 * The partner console's eSIM extras: what /v1 does not offer. `GET /esims/:id/timeline` is an eSIM's
 * lifecycle events with their webhook deliveries (the partner's own eSIMs only; anyone else's is a 404).
 */
export async function esimConsoleRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  useStrictValidation(app);

  app.get<{ Params: { id: string } }>('/esims/:id/timeline', { schema: { hide: true, params: EsimParams } }, async (request) => {
    const { partner } = await requireSession(ctx, request, 'partner');
    const esim = await findEsimByRef(ctx.store.db, partner!.id, request.params.id);
    return esimTimeline(ctx.store.db, esim);
  });
}
