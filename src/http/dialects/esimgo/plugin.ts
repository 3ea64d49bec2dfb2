import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.ts';

/** the eSIM Go-compatible API (/v2, /v2.2 … /v2.5). */
export async function esimGoPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  void app;
  void options;
}
