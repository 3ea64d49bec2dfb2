import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { Problem, sendProblem } from '../v1/problem.ts';
import { authRoutes } from './auth-api.ts';
import { partnerRoutes } from './partner-api.ts';
import { operatorRoutes } from './operator-api.ts';
import { esimConsoleRoutes } from './esims-api.ts';

/** Where `npm run build:console` (vite) writes the single-page app. */
export const CONSOLE_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../console/dist');

/**
 * The app's pages: scripts and styles only from this origin (Vite emits no inline script), images also as
 * data: URLs (logos, QR codes), never framed.
 */
const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin');
}

/** The web console: its JSON API under /console/api (session cookies + CSRF) and the app under /console/. */
export async function consolePlugin(app: FastifyInstance, options: { ctx: AppContext }): Promise<void> {
  const { ctx } = options;

  await app.register(
    async (api) => {
      api.setErrorHandler((error, request, reply) => sendProblem(request, reply, error));
      api.setNotFoundHandler((request, reply) => sendProblem(request, reply, new Problem('not_found', `No route ${request.method} ${request.url.split('?')[0]}`)));
      api.addHook('onSend', async (_request, reply, payload) => {
        reply.header('cache-control', 'no-store');
        return payload;
      });
      await authRoutes(api, ctx);
      await partnerRoutes(api, ctx);
      await esimConsoleRoutes(api, ctx);
      await operatorRoutes(api, ctx);
    },
    { prefix: '/console/api' },
  );

  // Read per request, not at start: a rebuild (npm run build:console) is served without a restart.
  const indexPage = (_request: FastifyRequest, reply: FastifyReply) => {
    if (!fs.existsSync(path.join(CONSOLE_DIST, 'index.html'))) {
      return securityHeaders(reply)
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built. Run `npm run build:console` (npm install and npm start do it for you).\n');
    }
    return securityHeaders(reply).header('cache-control', 'no-cache').sendFile('index.html', CONSOLE_DIST, { cacheControl: false });
  };

  await app.register(
    async (ui) => {
      await ui.register(fastifyStatic, {
        root: path.join(CONSOLE_DIST, 'assets'),
        prefix: '/assets/',
        index: false,
        wildcard: true,
        // Hashed file names never change: cache them for a year.
        maxAge: 365 * 24 * 3600 * 1000,
        immutable: true,
        setHeaders: (res) => res.setHeader('x-content-type-options', 'nosniff'),
      });
      ui.get('/', indexPage);
      // Client-side routes (/console/esims/…) all load the app.
      ui.get('/*', indexPage);
    },
    { prefix: '/console' },
  );
}
