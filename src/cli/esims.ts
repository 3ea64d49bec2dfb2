import fs from 'node:fs';
import type { Command } from 'commander';
import type { AppContext } from '../context.ts';
import { queryEsims, findEsim, type EsimRef } from '../domain/esims/esims.ts';
import { applyDeviceEvent, type DeviceEvent } from '../domain/esims/lifecycle.ts';
import { simulateDataUse } from '../domain/sandbox/data-use.ts';
import { advanceClock } from '../domain/sandbox/clock.ts';
import { ingestUsage, parseUsageCsv } from '../domain/usage/ingest.ts';
import { randomHex } from '../lib/ids.ts';
import { formatMinor } from '../lib/money.ts';
import { print, table, withContext } from './context.ts';

function refOf(text: string): EsimRef {
  if (/^89\d{17,18}F?$/.test(text)) return { iccid: text };
  if (/^\d{1,30}$/.test(text)) return { esimTranNo: text };
  throw new Error(`${JSON.stringify(text)} is neither an ICCID nor an esimTranNo`);
}

async function partnerOf(ctx: AppContext, partnerId: string | undefined) {
  if (partnerId) return ctx.partners.get(partnerId);
  // One partner on the machine (the demo): commands may leave --partner out.
  const all = await ctx.partners.list();
  if (all.length === 1) return all[0];
  throw new Error('several partners exist: pass --partner <partnerId>');
}

/** Finds an eSIM by ICCID or esimTranNo across partners (operator view), newest first. */
async function esimAnyPartner(ctx: AppContext, ref: EsimRef, partnerId?: string) {
  if (partnerId) return findEsim(ctx.store.db, partnerId, ref);
  let q = ctx.store.db.selectFrom('esims').selectAll();
  if (ref.iccid) q = q.where('iccid', '=', ref.iccid);
  if (ref.esimTranNo) q = q.where('esim_tran_no', '=', ref.esimTranNo);
  const esim = await q.orderBy('created_at', 'desc').executeTakeFirst();
  if (!esim) throw new Error(`no eSIM ${ref.iccid ?? ref.esimTranNo}`);
  return esim;
}

/** A sandbox eSIM named on the command line, with its partner; live eSIMs are refused. */
async function sandboxEsim(ctx: AppContext, ref: string, partnerId: string | undefined) {
  const esim = await esimAnyPartner(ctx, refOf(ref), partnerId);
  const partner = await ctx.partners.get(esim.partner_id);
  if (partner.environment !== 'sandbox') throw new Error('only sandbox eSIMs can be driven by the simulated network');
  return { esim, partner };
}

export function registerEsimCommands(program: Command): void {
  program
    .command('order')
    .description('place an order for a partner (as esim/order would) and wait until its profiles are ready')
    .argument('<package>', 'packageCode or slug')
    .option('--partner <partnerId>', 'the ordering partner (default: the only partner)')
    .option('--count <n>', 'profiles to order (1-30)', '1')
    .option('--period <days>', 'days, for day passes')
    .option('--transaction-id <id>', 'idempotency key (default: random)')
    .option('--no-wait', 'return at once with the orderNo')
    .option('--json', 'print JSON')
    .action(async (packageCode: string, options) => {
      if (!/^\d+$/.test(options.count)) throw new Error('--count must be a whole number');
      if (options.period !== undefined && !/^\d+$/.test(options.period)) throw new Error('--period must be a whole number of days');
      await withContext(async (ctx) => {
        const partner = await partnerOf(ctx, options.partner);
        const { order, created } = await ctx.ordering.place({
          partner,
          transactionId: options.transactionId ?? `cli-${randomHex(8)}`,
          lines: [{ packageCode, count: Number(options.count), periodNum: options.period !== undefined ? Number(options.period) : undefined }],
          nowMs: ctx.now(),
        });
        if (options.wait) {
          // This process allocates the order itself (a running server may get there first): the CLI works
          // without a server. Sandbox orders wait out the simulated allocation delay.
          const deadline = Date.now() + ctx.config.sandboxAllocationDelayMs + 30_000;
          for (;;) {
            await ctx.worker.drain();
            const current = await ctx.store.db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow();
            if (current.status !== 'allocating' || Date.now() > deadline) break;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        const fresh = await ctx.store.db.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow();
        const esims = await ctx.store.db.selectFrom('esims').select(['iccid', 'esim_tran_no', 'ac']).where('order_id', '=', order.id).execute();
        if (options.json) return print(JSON.stringify({ orderNo: fresh.order_no, status: fresh.status, created, amount: Number(fresh.amount), esims: esims.map((e) => ({ iccid: e.iccid, esimTranNo: e.esim_tran_no, ac: e.ac })) }));
        print(`order ${fresh.order_no} ${created ? 'placed' : '(already placed with this transaction id)'}: ${fresh.status}, ${formatMinor(Number(fresh.amount), fresh.currency)}`);
        table(esims.map((e) => ({ iccid: e.iccid, esimTranNo: e.esim_tran_no, activationCode: e.ac })));
      });
    });

  const esims = program.command('esims').description('look at eSIMs');
  esims
    .command('list')
    .description("a partner's eSIMs, newest last")
    .option('--partner <partnerId>', 'partner (default: the only partner)')
    .option('--order <orderNo>', 'only this order')
    .option('--page <n>', 'page number', '1')
    .option('--page-size <n>', 'page size (5-500)', '50')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withContext(async (ctx) => {
        const partner = await partnerOf(ctx, options.partner);
        const page = await queryEsims(ctx.store, partner.id, { orderNo: options.order, pageNum: Math.max(1, Number(options.page) || 1), pageSize: Math.min(500, Math.max(5, Number(options.pageSize) || 50)) });
        const rows = page.esims.map((e) => ({ iccid: e.iccid, esimTranNo: e.esim_tran_no, orderNo: e.order_no, package: e.package_code, esimStatus: e.esim_status, smdpStatus: e.smdp_status, usedBytes: Number(e.order_usage), totalBytes: Number(e.total_volume) }));
        if (options.json) return print(JSON.stringify({ total: page.total, esims: rows }));
        table(rows);
        print(`${page.esims.length} of ${page.total}`);
      });
    });
  esims
    .command('show')
    .description('one eSIM with its bundles and recent events')
    .argument('<ref>', 'ICCID or esimTranNo')
    .option('--partner <partnerId>', 'restrict to this partner')
    .option('--json', 'print JSON')
    .action(async (ref: string, options) => {
      await withContext(async (ctx) => {
        const esim = await esimAnyPartner(ctx, refOf(ref), options.partner);
        const bundles = await ctx.store.db.selectFrom('bundles').selectAll().where('esim_id', '=', esim.id).orderBy('seq').execute();
        const events = await ctx.store.db.selectFrom('events').select(['type', 'payload', 'occurred_at']).where('subject', '=', esim.id).orderBy('seq').execute();
        if (options.json) return print(JSON.stringify({ esim, bundles, events }));
        for (const [k, v] of Object.entries(esim)) print(`${k.padEnd(22)} ${v ?? ''}`);
        print('\nbundles:');
        table(bundles.map((b) => ({ seq: b.seq, package: b.package_code, kind: b.kind, state: b.state, volume: Number(b.volume), used: Number(b.used_bytes), duration: b.duration })));
        print('\nevents:');
        table(events.map((e) => ({ at: new Date(Number(e.occurred_at)).toISOString(), type: e.type, payload: e.payload.slice(0, 100) })));
      });
    });

  const sandbox = program.command('sandbox').description('drive the simulated network and a sandbox partner’s clock');
  for (const kind of ['download', 'install', 'enable', 'disable', 'delete'] as const) {
    sandbox
      .command(kind)
      .description(`${kind} a sandbox eSIM's profile`)
      .argument('<ref>', 'ICCID or esimTranNo')
      .option('--eid <eid>', 'the device EID (download/install)')
      .option('--partner <partnerId>', "look the eSIM up among this partner's only (an ICCID may have been reused)")
      .action(async (ref: string, options) => {
        await withContext(async (ctx) => {
          const { esim, partner } = await sandboxEsim(ctx, ref, options.partner);
          const event: DeviceEvent = kind === 'download' || kind === 'install' ? { kind, eid: options.eid } : { kind };
          const updated = await applyDeviceEvent(ctx.store.db, esim.id, event, ctx.now() + Number(partner.clock_offset_ms));
          print(`${updated.iccid}: smdpStatus ${updated.smdp_status}, esimStatus ${updated.esim_status}${updated.eid ? `, eid ${updated.eid}` : ''}`);
        });
      });
  }
  sandbox
    .command('use')
    .description('use data on a sandbox eSIM')
    .argument('<ref>', 'ICCID or esimTranNo')
    .requiredOption('--bytes <n>', 'bytes to use (suffixes KB, MB, GB allowed)')
    .option('--partner <partnerId>', "look the eSIM up among this partner's only (an ICCID may have been reused)")
    .action(async (ref: string, options) => {
      const m = /^(\d+)\s*(KB|MB|GB)?$/i.exec(String(options.bytes).trim());
      if (!m || Number(m[1]) <= 0) throw new Error('--bytes must be a positive whole number, optionally with KB, MB or GB');
      const bytes = Number(m[1]) * (m[2] ? 1024 ** (['KB', 'MB', 'GB'].indexOf(m[2].toUpperCase()) + 1) : 1);
      if (!Number.isSafeInteger(bytes)) throw new Error('--bytes is too large');
      await withContext(async (ctx) => {
        const { esim, partner } = await sandboxEsim(ctx, ref, options.partner);
        // The same domain call as POST /sandbox/esims/:ref/usage: the use is applied and recorded as a usage record.
        const outcome = await ctx.store.db.transaction().execute((trx) => simulateDataUse(trx, esim.id, bytes, ctx.now() + Number(partner.clock_offset_ms)));
        print(`${esim.iccid}: granted ${outcome.grantedBytes} of ${bytes} bytes; used ${outcome.esim.order_usage} of ${outcome.esim.total_volume}; ${outcome.esim.esim_status}`);
      });
    });
  sandbox
    .command('advance')
    .description("move a sandbox partner's clock forward; everything that falls due fires in order")
    .option('--partner <partnerId>', 'partner (default: the only partner)')
    .option('--days <n>', 'days', '0')
    .option('--hours <n>', 'hours', '0')
    .action(async (options) => {
      const days = Number(options.days);
      const hours = Number(options.hours);
      if (!Number.isFinite(days) || !Number.isFinite(hours) || days < 0 || hours < 0 || days + hours <= 0) throw new Error('give --days and/or --hours greater than zero');
      await withContext(async (ctx) => {
        const partner = await partnerOf(ctx, options.partner);
        const result = await advanceClock(ctx.store.db, partner.id, Math.round(days * 86_400_000 + hours * 3_600_000), ctx.now());
        print(`partner ${partner.id} clock: ${new Date(result.nowMs).toISOString()} (${result.transitions} transitions fired)`);
      });
    });
  sandbox
    .command('traffic')
    .description("let a partner's sandbox eSIMs live on their own, on its clock (install, enable, hourly data use, off days, to depletion or expiry)")
    .argument('<onOff>', 'on or off')
    .option('--partner <partnerId>', 'partner (default: the only partner)')
    .action(async (onOff: string, options) => {
      if (onOff !== 'on' && onOff !== 'off') throw new Error('say on or off');
      await withContext(async (ctx) => {
        const partner = await partnerOf(ctx, options.partner);
        if (partner.environment !== 'sandbox') throw new Error('traffic mode is for sandbox partners');
        await ctx.store.db.updateTable('partners').set({ traffic_mode: onOff === 'on' ? 1 : 0 }).where('id', '=', partner.id).execute();
        print(`traffic mode ${onOff} for ${partner.id}`);
      });
    });

  program
    .command('usage')
    .description('usage records')
    .command('import')
    .description('import usage records (CSV: iccid or esimTranNo, bytes, optional start, end, recordId); duplicates count once')
    .argument('<file>')
    .option('--source <name>', 'supplier name (part of the dedupe key for recordId)', 'csv')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, options) => {
      if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
      const parsed = parseUsageCsv(fs.readFileSync(file, 'utf8'));
      if (parsed.errors.length) throw new Error(`${file}: ${parsed.errors.length} bad row(s), nothing imported:\n${parsed.errors.map((e) => `  line ${e.line}: ${e.reason}`).join('\n')}`);
      await withContext(async (ctx) => {
        const report = await ingestUsage(ctx.store, parsed.records, String(options.source).slice(0, 40), ctx.now());
        if (options.json) return print(JSON.stringify(report));
        print(`${report.received} records: ${report.applied} applied, ${report.duplicates} duplicates, ${report.unknown.length} for unknown eSIMs; ${report.esimsUpdated} eSIMs updated`);
        for (const u of report.unknown.slice(0, 50)) print(`  line ${u.line ?? '?'}: unknown eSIM ${u.ref}`);
      });
    });
}
