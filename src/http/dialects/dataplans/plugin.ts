import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.ts';

/** the dataplans.io-compatible API (/api/v1 and its sandbox base). */
export async function dataplansPlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  void app;
  void options;
}
