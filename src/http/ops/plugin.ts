import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';

/** health, readiness and metrics endpoints. */
export async function opsPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  void app;
  void options;
}
