import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';

/** Registers OpenAPI generation (it must see every route, so it is registered before them) and the docs UI. */
export async function registerOpenApi(app: FastifyInstance, ctx: AppContext): Promise<void> {
  void app;
  void ctx;
}
