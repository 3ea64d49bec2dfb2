import type { FastifyInstance } from 'fastify';

/**
 * Which methods a /v1 path answers, so a wrong method on an existing path is 405 with Allow rather than 404.
 * Call before the routes are registered: it learns them as they are added.
 */
export function trackAllowedMethods(app: FastifyInstance): (path: string) => string[] {
  const routes: Array<{ pattern: RegExp; method: string }> = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    for (const method of [route.method].flat()) routes.push({ pattern: new RegExp(`^${source}$`), method });
  });
  return (path) => [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))].sort();
}
