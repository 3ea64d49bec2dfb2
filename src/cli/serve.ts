import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { createContext, ensureConsoleUsers, ensureDemoPartner, makeLogger } from '../bootstrap.ts';
import { buildServer } from '../http/server.ts';

export function registerServe(program: Command): void {
  program
    .command('serve', { isDefault: false })
    .description('run the API server and workers')
    .option('--port <port>', 'port to listen on (default PORT or 8080)')
    .option('--host <host>', 'address to bind (default HOST or 0.0.0.0)')
    .option('--role <role>', 'all, api or worker', undefined)
    .action(async (options) => {
      const env = { ...process.env };
      if (options.port !== undefined) env.PORT = options.port;
      if (options.host !== undefined) env.HOST = options.host;
      if (options.role !== undefined) env.ESIMHUB_ROLE = options.role;
      const config = loadConfig(env);
      const log = makeLogger(config);
      const ctx = await createContext(config, log);
      const app = await buildServer(ctx);
      const demo = config.seedDemo ? await ensureDemoPartner(ctx) : null;
      const consoleLogins = config.role === 'worker' ? [] : await ensureConsoleUsers(ctx, demo?.partnerId ?? null);
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      // Without PUBLIC_BASE_URL, links (QR codes, install pages) point at the port actually bound.
      if (!process.env.PUBLIC_BASE_URL) ctx.config.publicBaseUrl = `http://localhost:${port}`;
      const base = ctx.config.publicBaseUrl;
      if (config.role !== 'api') {
        ctx.worker.start();
        ctx.scheduler.start();
        ctx.dispatcher.start();
      }
      const lines = [
        '',
        `esimhub is listening on ${config.host}:${port}  (store: ${ctx.store.description})`,
        `  Web console:                 ${base}/console/`,
        `  eSIM Access-compatible API:  ${base}/api/v1/open`,
        `  esimhub API (/v1) and docs:  ${base}/v1  ·  ${base}/docs`,
      ];
      for (const login of consoleLogins) {
        lines.push(`  Console ${login.role === 'operator' ? 'operator' : 'demo partner'} login: ${login.email}${login.password ? ` / ${login.password}` : ' (password set by you)'}`);
      }
      if (demo) {
        lines.push(
          `  Demo sandbox partner ${demo.partnerId}${demo.created ? ' (created now, balance $1,000.00)' : ''}:`,
          `    AccessCode: ${demo.accessCode}`,
          `    SecretKey:  ${demo.secretKey}`,
          '  Try it:',
          `    curl -s -X POST ${base}/api/v1/open/balance/query -H 'RT-AccessCode: ${demo.accessCode}' --data ''`,
          `    curl -s -X POST ${base}/api/v1/open/package/list -H 'RT-AccessCode: ${demo.accessCode}' -H 'Content-Type: application/json' --data '{"locationCode":"US"}'`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n\n`);

      // Graceful shutdown: stop accepting (new requests get 503, idle keep-alive sockets close), let requests in
      // flight finish, let claimed jobs finish and hand back every claim still held (jobs and webhook
      // deliveries), then close the store. A second signal, or SHUTDOWN_TIMEOUT_MS, ends it at once; what
      // was claimed then is taken back by the lease (or at the next start on this host).
      let closing = false;
      const shutdown = async (signal: string) => {
        if (closing) {
          log.warn({ signal }, 'forced exit');
          process.exit(1);
        }
        closing = true;
        log.info({ signal }, 'shutting down');
        const timeoutMs = ctx.config.shutdownTimeoutMs;
        setTimeout(() => {
          log.error({ timeoutMs }, 'shutdown took too long; exiting');
          process.exit(1);
        }, timeoutMs).unref();
        try {
          await app.close();
          await Promise.all([ctx.worker.stop(), ctx.scheduler.stop(), ctx.dispatcher.stop()]);
          await ctx.rateLimiter.close?.();
          await ctx.store.close();
        } catch (error) {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        }
        process.exit(0);
      };
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      process.on('SIGINT', () => void shutdown('SIGINT'));
    });
}
