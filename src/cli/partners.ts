import type { Command } from 'commander';
import { formatMinor, parseUnitsToMinor } from '../lib/money.ts';
import { walletBalance } from '../domain/ledger/ledger.ts';
import { randomHex } from '../lib/ids.ts';
import { print, table, withContext } from './context.ts';

function amountOption(text: string, name: string): number {
  const minor = parseUnitsToMinor(text);
  if (minor === null) throw new Error(`${name} must be an amount in currency units such as 100 or 100.00 (got ${JSON.stringify(text)})`);
  return minor;
}

export function registerPartnerCommands(program: Command): void {
  const partner = program.command('partner').description('manage partner accounts');

  partner
    .command('create')
    .description('create a partner with one API key')
    .requiredOption('--name <name>', 'display name')
    .option('--env <environment>', 'sandbox or live', 'sandbox')
    .option('--deposit <amount>', 'initial deposit in currency units, e.g. 100.00')
    .option('--currency <code>', 'ISO 4217 currency', 'USD')
    .option('--tier <tier>', 'price tier: standard, silver, gold, platinum', 'standard')
    .option('--rate-limit <perSecond>', 'requests per second per AccessCode (default: server setting)')
    .option('--json', 'print {"partnerId","accessCode","secretKey"} and nothing else')
    .action(async (options) => {
      if (options.env !== 'sandbox' && options.env !== 'live') throw new Error(`--env must be sandbox or live (got ${JSON.stringify(options.env)})`);
      const depositMinor = options.deposit !== undefined ? amountOption(options.deposit, '--deposit') : 0;
      let rateLimitPerSecond: number | null = null;
      if (options.rateLimit !== undefined) {
        if (!/^\d+$/.test(options.rateLimit) || Number(options.rateLimit) < 1) throw new Error('--rate-limit must be a whole number >= 1');
        rateLimitPerSecond = Number(options.rateLimit);
      }
      await withContext(async (ctx) => {
        const { partner: created, key } = await ctx.partners.create(
          { name: options.name, environment: options.env, currency: options.currency, priceTierId: options.tier, depositMinor, rateLimitPerSecond },
          ctx.now(),
        );
        if (options.json) return print(JSON.stringify({ partnerId: created.id, accessCode: key.accessCode, secretKey: key.secretKey }));
        print(`partner ${created.id} (${created.environment}) created`);
        print(`  AccessCode: ${key.accessCode}`);
        print(`  SecretKey:  ${key.secretKey}   (shown once: store it now)`);
        if (depositMinor) print(`  balance:    ${formatMinor(depositMinor, created.currency)}`);
      });
    });

  partner
    .command('deposit')
    .description('add money to a partner balance (idempotent by --id)')
    .argument('<partnerId>')
    .argument('<amount>', 'amount in currency units, e.g. 250.00')
    .option('--id <idempotencyId>', 'idempotency id: repeating it deposits nothing more')
    .option('--memo <text>', 'note kept with the transfer')
    .action(async (partnerId: string, amount: string, options) => {
      const amountMinor = amountOption(amount, 'amount');
      if (amountMinor <= 0) throw new Error('amount must be greater than zero');
      await withContext(async (ctx) => {
        const result = await ctx.partners.deposit(partnerId, amountMinor, options.id ?? `cli-deposit:${randomHex(12)}`, ctx.now(), options.memo);
        const balance = await walletBalance(ctx.store.db, partnerId);
        print(`${result.created ? 'deposited' : 'already deposited (same id)'} ${formatMinor(amountMinor, balance.currency)}; balance ${formatMinor(balance.balanceMinor, balance.currency)}`);
      });
    });

  partner
    .command('list')
    .description('list partners with balances')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withContext(async (ctx) => {
        const partners = await ctx.partners.list();
        const rows = [];
        for (const p of partners) {
          const balance = await walletBalance(ctx.store.db, p.id);
          rows.push({ id: p.id, name: p.name, env: p.environment, status: p.status, tier: p.price_tier_id, balance: formatMinor(balance.balanceMinor, p.currency), balanceMinor: balance.balanceMinor });
        }
        if (options.json) return print(JSON.stringify(rows));
        table(rows.map(({ balanceMinor: _omit, ...rest }) => rest));
      });
    });

  partner
    .command('update')
    .description('change status, rate limit, price tier or IP blocklist')
    .argument('<partnerId>')
    .option('--status <status>', 'active, suspended or closed')
    .option('--rate-limit <perSecond>', 'requests per second per AccessCode')
    .option('--tier <tier>', 'price tier id')
    .option('--block-ip <list>', 'comma-separated IPs or CIDRs refused with 101002 ("" clears)')
    .action(async (partnerId: string, options) => {
      if (options.status !== undefined && !['active', 'suspended', 'closed'].includes(options.status)) throw new Error('--status must be active, suspended or closed');
      if (options.rateLimit !== undefined && (!/^\d+$/.test(options.rateLimit) || Number(options.rateLimit) < 1)) throw new Error('--rate-limit must be a whole number >= 1');
      let ipBlocklist: string[] | undefined;
      if (options.blockIp !== undefined) {
        const { parseIpList } = await import('../lib/ip.ts');
        ipBlocklist = String(options.blockIp).split(',').map((s) => s.trim()).filter(Boolean);
        const { bad } = parseIpList(ipBlocklist);
        if (bad.length) throw new Error(`--block-ip: not an IP or CIDR: ${bad.join(', ')}`);
      }
      await withContext(async (ctx) => {
        if (options.tier !== undefined) {
          const tier = await ctx.store.db.selectFrom('price_tiers').select('id').where('id', '=', options.tier).executeTakeFirst();
          if (!tier) throw new Error(`price tier ${options.tier} does not exist`);
        }
        const updated = await ctx.partners.update(
          partnerId,
          { status: options.status, rate_limit_per_second: options.rateLimit !== undefined ? Number(options.rateLimit) : undefined, price_tier_id: options.tier, ipBlocklist },
          ctx.now(),
        );
        print(`partner ${updated.id}: status ${updated.status}, tier ${updated.price_tier_id}, rate limit ${updated.rate_limit_per_second ?? 'default'}, blocklist ${updated.ip_blocklist}`);
      });
    });

  const key = program.command('key').description('manage API keys (AccessCode + SecretKey)');
  key
    .command('create')
    .description('issue another key for a partner')
    .argument('<partnerId>')
    .option('--label <label>', 'label shown in lists')
    .option('--require-signature', 'refuse requests without a valid HMAC signature (101003)')
    .option('--json', 'print {"keyId","accessCode","secretKey"}')
    .action(async (partnerId: string, options) => {
      await withContext(async (ctx) => {
        const issued = await ctx.partners.createKey(partnerId, { label: options.label, signatureRequired: !!options.requireSignature }, ctx.now());
        if (options.json) return print(JSON.stringify(issued));
        print(`key ${issued.keyId}\n  AccessCode: ${issued.accessCode}\n  SecretKey:  ${issued.secretKey}   (shown once)`);
      });
    });
  key
    .command('roll')
    .description('issue a replacement key; the old one keeps working for KEY_ROLL_GRACE_HOURS')
    .argument('<keyId>')
    .option('--json', 'print JSON')
    .action(async (keyId: string, options) => {
      await withContext(async (ctx) => {
        const { key: issued, oldKeyExpiresAt } = await ctx.partners.rollKey(keyId, ctx.now());
        if (options.json) return print(JSON.stringify({ ...issued, oldKeyExpiresAt: new Date(oldKeyExpiresAt).toISOString() }));
        print(`new key ${issued.keyId}\n  AccessCode: ${issued.accessCode}\n  SecretKey:  ${issued.secretKey}   (shown once)`);
        print(`old key ${keyId} keeps working until ${new Date(oldKeyExpiresAt).toISOString()}`);
      });
    });
  key
    .command('revoke')
    .description('revoke a key at once')
    .argument('<keyId>')
    .action(async (keyId: string) => {
      await withContext(async (ctx) => {
        await ctx.partners.revokeKey(keyId, ctx.now());
        print(`key ${keyId} revoked`);
      });
    });
  key
    .command('list')
    .description("list a partner's keys")
    .argument('<partnerId>')
    .option('--json', 'print JSON')
    .action(async (partnerId: string, options) => {
      await withContext(async (ctx) => {
        await ctx.partners.get(partnerId);
        const keys = await ctx.partners.listKeys(partnerId);
        if (options.json) return print(JSON.stringify(keys));
        table(keys.map((k) => ({ id: k.id, accessCode: `${k.access_code_hint}…`, label: k.label, status: k.status, signatureRequired: k.signature_required === 1, expires: k.expires_at ? new Date(k.expires_at).toISOString() : '' })));
      });
    });
  key
    .command('require-signature')
    .description('turn the per-key "signature required" option on or off')
    .argument('<keyId>')
    .argument('<onOff>', 'on or off')
    .action(async (keyId: string, onOff: string) => {
      if (onOff !== 'on' && onOff !== 'off') throw new Error('the second argument must be on or off');
      await withContext(async (ctx) => {
        await ctx.partners.setSignatureRequired(keyId, onOff === 'on');
        print(`key ${keyId}: signature required ${onOff}`);
      });
    });
}
