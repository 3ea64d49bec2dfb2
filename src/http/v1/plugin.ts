import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';

/** esimhub's own REST API (/v1). */
export async function nativeApiPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  void app;
  void options;
}
