import pino from 'pino';
import { loadConfig } from '../config.ts';
import { createContext } from '../bootstrap.ts';
import type { AppContext } from '../context.ts';
import { DomainError } from '../domain/errors.ts';

/** Opens the same store the server uses (DATA_DIR / DATABASE_URL), runs one command, closes it. */
export async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // Commands print results on stdout; logs go to stderr so `--json` output stays machine-readable.
  const log = pino({ level: process.env.LOG_LEVEL || 'warn' }, pino.destination(2));
  const ctx = await createContext(config, log);
  try {
    return await fn(ctx);
  } catch (error) {
    if (error instanceof DomainError) throw new Error(error.message);
    throw error;
  } finally {
    await ctx.store.close();
  }
}

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function table(rows: Array<Record<string, unknown>>): void {
  if (!rows.length) return print('(none)');
  const keys = Object.keys(rows[0]);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k] ?? '').length)));
  print(keys.map((k, i) => k.padEnd(widths[i])).join('  '));
  for (const r of rows) print(keys.map((k, i) => String(r[k] ?? '').padEnd(widths[i])).join('  '));
}
