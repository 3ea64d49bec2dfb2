import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import * as jsqrModule from 'jsqr';
import { PNG } from 'pngjs';
import { unzipSync, strFromU8 } from 'fflate';
import { parseJsonOrNull, startServer, type TestPartner, type TestServer } from './helpers/server.ts';
import { orderOne } from './helpers/orders.ts';
import { onPostgres, PG_URL, schemaFor as testSchemaFor } from './helpers/store.ts';

const jsQR: (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null = ((jsqrModule as any).default?.default ?? (jsqrModule as any).default ?? jsqrModule) as any;

// ── OpenAPI validation against eSIM Go's published v2.4 document ────────────────────────────────────
// A copy of eSIM Go's published OpenAPI document (shared/reference), kept with the tests so CI needs nothing else.
const SPEC_PATH = path.resolve(import.meta.dirname, 'fixtures/esimgo-openapi-v2.4.yaml');
const spec = YAML.parse(fs.readFileSync(SPEC_PATH, 'utf8'));
// Documented exceptions (docs/esimgo.md): money is declared integer but is decimal in every example (§9.12).
for (const name of ['CatalogueResponse', 'BundleCatalogueResponse', 'OrganisationResponse']) {
  const schema = spec.components.schemas[name];
  const props = schema.items?.properties ?? schema.properties;
  if (props.price) props.price.type = 'number';
  if (props.balance) props.balance.type = 'number';
  if (props.testCredit) props.testCredit.type = 'number';
}
// CommonJS packages: the constructor is the default export's `default` under NodeNext typing.
const Ajv = ((AjvModule as any).default ?? AjvModule) as typeof AjvModule.default;
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as typeof addFormatsModule.default;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'esimgo', components: spec.components }, 'esimgo');
function schemaFor(pathName: string, method: string, status = '200', contentType = 'application/json') {
  const op = spec.paths[pathName]?.[method];
  if (!op) throw new Error(`no ${method} ${pathName} in the spec`);
  const schema = op.responses[status]?.content?.[contentType]?.schema;
  if (!schema) throw new Error(`no ${status} ${contentType} schema for ${method} ${pathName}`);
  return schema;
}
function rewriteRefs(schema: any): any {
  if (Array.isArray(schema)) return schema.map(rewriteRefs);
  if (schema && typeof schema === 'object') {
    const out: any = {};
    for (const [k, v] of Object.entries(schema)) out[k] = k === '$ref' && typeof v === 'string' ? `esimgo${v}` : rewriteRefs(v);
    return out;
  }
  return schema;
}
function expectValid(value: unknown, schema: any) {
  const validate = ajv.compile(rewriteRefs(schema));
  const ok = validate(value);
  if (!ok) throw new Error(`response does not match the OpenAPI schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 800)}`);
}
const validateOp = (value: unknown, pathName: string, method: string, status = '200') => expectValid(value, schemaFor(pathName, method, status));
const itemsOf = (pathName: string, method: string) => {
  const schema = schemaFor(pathName, method);
  return schema.$ref ? spec.components.schemas[schema.$ref.split('/').pop()].items : schema.items;
};
const componentRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

describe('eSIM Go dialect', () => {
  let server: TestServer;
  let partner: TestPartner;
  let callbacks: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let receiver: http.Server;
  let receiverUrl: string;

  async function eg(pathName: string, options: { method?: string; body?: unknown; headers?: Record<string, string>; version?: string; key?: string | null; raw?: boolean } = {}) {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const key = options.key === undefined ? partner.accessCode : options.key;
    if (key !== null) headers['X-API-Key'] = key;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.baseUrl}/${options.version ?? 'v2.4'}${pathName}`, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const buffer = Buffer.from(await res.arrayBuffer());
    const text = buffer.toString('utf8');
    return { status: res.status, headers: res.headers, json: parseJsonOrNull(text), text, buffer };
  }

  async function balance(): Promise<number> {
    return (await eg('/organisation')).json.balance;
  }

  beforeAll(async () => {
    server = await startServer({}, {}, {});
    partner = await server.createPartner();
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        callbacks.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const addr = receiver.address();
    receiverUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/callback`;
  });
  afterAll(async () => {
    await server.close();
    await new Promise((r) => receiver.close(r));
  });

  it('authenticates with X-API-Key and answers {"message"} errors', async () => {
    const none = await eg('/organisation', { key: null });
    expect(none.status).toBe(403);
    expect(none.json).toEqual({ message: 'Forbidden' });
    const wrong = await eg('/organisation', { key: 'nope' });
    expect(wrong.status).toBe(403);
    validateOp(wrong.json, '/organisation', 'get', '403');
    const lower = await fetch(`${server.baseUrl}/v2.5/organisation`, { headers: { 'x-api-key': partner.accessCode } });
    expect(lower.status).toBe(200);
    const unknownRoute = await eg('/bundles');
    expect(unknownRoute.status).toBe(404);
    expect(typeof unknownRoute.json.message).toBe('string');
    const live = await server.createPartner({ environment: 'live' });
    const liveOrg = await eg('/organisation', { key: live.accessCode });
    expect(liveOrg.status).toBe(200);
  });

  it('limits 10 requests per second with X-Ratelimit-* headers, 429 and Retry-After', async () => {
    const limited = await server.createPartner({ rateLimitPerSecond: 10 });
    // Start at the beginning of a one-second window.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const results = await Promise.all(Array.from({ length: 30 }, () => eg('/organisation/groups', { key: limited.accessCode })));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    // Normally all 30 land in one window (10 pass); on a very busy machine they may straddle two (up to 20).
    expect(ok.length).toBeGreaterThanOrEqual(10);
    expect(ok.length).toBeLessThanOrEqual(20);
    expect(refused.length).toBe(30 - ok.length);
    expect(refused[0].json).toEqual({ message: 'Rate limit exceeded' });
    expect(refused[0].headers.get('retry-after')).toBe('1');
    expect(ok[0].headers.get('x-ratelimit-limit')).toBe('10');
    expect(ok[0].headers.get('x-ratelimit-cost')).toBe('1');
    expect(Number.isNaN(Date.parse(ok[0].headers.get('x-ratelimit-reset')!))).toBe(false);
    const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b);
    if (ok.length === 10) expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    else expect(remaining.every((n) => n >= 0 && n <= 9)).toBe(true);
  });

  it.skipIf(!onPostgres)('holds the limit across API processes sharing PostgreSQL', async () => {
    // A second server on the same schema: another API process of the same deployment.
    const masterKey = fs.readFileSync(path.join(server.dataDir, 'master.key'), 'utf8').trim();
    const second = await startServer({ DATABASE_URL: PG_URL, DATABASE_SCHEMA: testSchemaFor(server.dataDir), MASTER_KEY: masterKey });
    try {
      const limited = await server.createPartner({ rateLimitPerSecond: 10 });
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
      const statuses: number[] = [];
      const resets = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const base = i % 2 === 0 ? server.baseUrl : second.baseUrl;
        const res = await fetch(`${base}/v2.4/organisation/groups`, { headers: { 'X-API-Key': limited.accessCode } });
        await res.arrayBuffer();
        statuses.push(res.status);
        resets.add(res.headers.get('x-ratelimit-reset')!);
      }
      expect(resets.size, `all twelve requests fell in one window: ${[...resets]} ${statuses}`).toBe(1);
      expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
      expect(statuses.slice(10)).toEqual([429, 429]);
    } finally {
      await second.close();
    }
  });

  it('serves the catalogue with eSIM Go names, filters and paging, and bundle details', async () => {
    const res = await eg('/catalogue?countries=US&perPage=5&page=1');
    expect(res.status).toBe(200);
    expect(res.json.pageSize).toBe(5);
    expect(res.json.rows).toBeGreaterThan(5);
    expect(res.json.pageCount).toBe(Math.ceil(res.json.rows / 5));
    expect(res.json.bundles).toHaveLength(5);
    // §9.1: the live API wraps the array; each bundle matches the spec's item schema.
    for (const b of res.json.bundles) {
      expectValid(b, itemsOf('/catalogue', 'get'));
      expect(b.countries.map((c: any) => c.iso)).toContain('US');
    }
    const all = await eg('/catalogue?countries=US&perPage=1000');
    const us17 = all.json.bundles.find((b: any) => b.name === 'esim_1GB_7D_US_V2');
    expect(us17).toMatchObject({ dataAmount: 1000, duration: 7, billingType: 'FixedCost', groups: ['Standard Fixed'] });
    const page2 = await eg('/catalogue?countries=US&perPage=5&page=2');
    expect(page2.json.bundles[0].name).toBe(all.json.bundles[5].name);
    const desc = await eg('/catalogue?countries=US&perPage=1000&orderBy=price&direction=desc');
    const prices = desc.json.bundles.map((b: any) => b.price);
    expect(prices).toEqual([...prices].sort((a: number, b: number) => b - a));
    const grouped = await eg('/catalogue?group=Standard%20Fixed&perPage=50');
    expect(grouped.json.bundles.every((b: any) => b.groups[0] === 'Standard Fixed')).toBe(true);
    const described = await eg('/catalogue?description=*Afghanistan*&perPage=50');
    expect(described.json.rows).toBeGreaterThan(0);
    expect(described.json.bundles.every((b: any) => b.description.includes('Afghanistan'))).toBe(true);

    const one = await eg('/catalogue/bundle/esim_1GB_7D_US_V2');
    expect(one.status).toBe(200);
    validateOp(one.json, '/catalogue/bundle/{name}', 'get');
    expect(one.json.price).toBe(us17.price);
    // Same package as eSIM Access's US_1_7, same price in both dialects.
    const ea = await server.ea('/package/list', { locationCode: 'US' }, partner);
    const eaPkg = ea.json.obj.packageList.find((p: any) => p.slug === 'US_1_7');
    expect(us17.price).toBeCloseTo(eaPkg.price / 10_000, 4);
    expect((await eg('/catalogue/bundle/ESIM_1GB_7D_US_V2')).status).toBe(400); // case-sensitive
    const v25 = await eg('/catalogue/bundle/esim_1GB_7D_US_V2', { version: 'v2.5' });
    expect(v25.json.allowances[0]).toMatchObject({ type: 'DATA', unit: 'MB', amount: 1000 });
    expect(v25.json.group).toEqual(['Standard Fixed']);
    expect((await eg('/catalogue/prices', { version: 'v2.4' })).status).toBe(404);
    expect((await eg('/catalogue/prices', { version: 'v2.5' })).status).toBe(403);
  });

  it('answers /organisation, /organisation/groups and /networks', async () => {
    const org = await eg('/organisation');
    validateOp(org.json, '/organisation', 'get');
    expect(org.json.balance).toBe(1000);
    expect(org.json.currency).toBe('USD');
    const groups = await eg('/organisation/groups');
    validateOp(groups.json, '/organisation/groups', 'get');
    const nets = await eg('/networks?isos=GB,US');
    validateOp(nets.json, '/networks', 'get');
    expect(nets.json.countryNetworks.map((c: any) => c.name).sort()).toEqual(['GB', 'US']);
    expect((await eg('/networks')).status).toBe(400);
  });

  let orderRef: string;
  let newIccid: string;

  it('validates an order without charging, then places it and assigns a new eSIM', async () => {
    const before = await balance();
    const validate = await eg('/orders', { method: 'POST', body: { type: 'validate', assign: true, order: [{ type: 'bundle', quantity: 2, item: 'esim_1GB_7D_US_V2' }] } });
    expect(validate.status).toBe(200);
    // The spec's POST /orders 200 is oneOf(validate, transaction) with no required fields, so every body matches both.
    expect(schemaFor('/orders', 'post').oneOf).toBeTruthy();
    expectValid(validate.json, componentRef('OrderResponseValidate'));
    expect(validate.json.valid).toBe(true);
    expect(validate.json.order[0].subTotal).toBeCloseTo(validate.json.order[0].pricePerUnit * 2, 4);
    expect(await balance()).toBe(before);
    // The Quick Start's flat body.
    const flat = await eg('/orders', { method: 'POST', body: { type: 'validate', quantity: 1, item: 'esim_1GB_7D_US_V2' } });
    expect(flat.json.valid).toBe(true);

    const tx = await eg('/orders', { method: 'POST', body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 1, item: 'esim_1GB_7D_US_V2' }] } });
    expect(tx.status).toBe(200);
    expect(schemaFor('/orders', 'post')).toBeTruthy();
    expectValid(tx.json, componentRef('OrderResponseTransaction'));
    expect(tx.json.status).toBe('completed');
    expect(tx.json.statusMessage).toBe('Order completed: 1 eSIM assigned');
    expect(tx.json.orderReference).toMatch(/^[0-9a-f-]{36}$/);
    expect(tx.json.order[0].iccids).toHaveLength(1);
    expect(tx.json.order[0].esims[0].matchingId).toBeTruthy();
    expect(tx.json.assigned).toBe(true);
    orderRef = tx.json.orderReference;
    newIccid = tx.json.order[0].iccids[0];
    expect(await balance()).toBeCloseTo(before - tx.json.total, 4);

    const got = await eg(`/orders/${orderRef}`);
    expectValid(got.json, componentRef('OrderResponseTransaction'));
    expect(got.json.order[0].iccids).toEqual([newIccid]);
    const list = await eg('/orders?limit=10&page=1');
    expect(list.json.orders.map((o: any) => o.orderReference)).toContain(orderRef);
    for (const o of list.json.orders) expectValid(o, componentRef('OrderResponseTransaction'));
    expect((await eg('/orders/does-not-exist')).status).toBe(404);

    const broke = await eg('/orders', { method: 'POST', body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 1, item: 'no_such_bundle' }] } });
    expect(broke.status).toBe(400);
    expect(broke.json.message).toContain('no_such_bundle');
  });

  it('v2.2 returns iccids only with includeIccids; v2.3+ always', async () => {
    const v22 = await eg('/orders', { version: 'v2.2', method: 'POST', body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 1, item: 'esim_1GB_7D_US_V2' }] } });
    expect(v22.json.order[0].iccids).toBeUndefined();
    const v22i = await eg('/orders?includeIccids=true', { version: 'v2.2', method: 'POST', body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 1, item: 'esim_1GB_7D_US_V2' }] } });
    expect(v22i.json.order[0].iccids).toHaveLength(1);
  });

  it('shows the eSIM, its bundles with bundleState and quantities, and version differences', async () => {
    const list = await eg('/esims?perPage=100');
    validateOp(list.json, '/esims', 'get');
    expect(list.json.esims.map((e: any) => e.iccid)).toContain(newIccid);
    expect(list.json.rows).toBe(list.json.esims.length);
    const one = await eg(`/esims/${newIccid}`);
    validateOp(one.json, '/esims/{iccid}', 'get');
    expect(one.json.profileStatus).toBe('Released');
    expect(one.json.state).toBeUndefined();
    const v25 = await eg(`/esims/${newIccid}?additionalFields=installUrl`, { version: 'v2.5' });
    expect(v25.json.state).toBe('active');
    expect(v25.json.androidInstallUrl).toContain('esimsetup.android.com');

    const bundles = await eg(`/esims/${newIccid}/bundles`);
    validateOp(bundles.json, '/esims/{iccid}/bundles', 'get');
    const a = bundles.json.bundles[0].assignments[0];
    expect(bundles.json.bundles[0].name).toBe('esim_1GB_7D_US_V2');
    expect(a.bundleState).toBe('queued');
    expect(a.initialQuantity).toBe(1073741824);
    expect(a.remainingQuantity).toBe(1073741824);
    expect(a.assignmentReference.startsWith(orderRef)).toBe(true);
    const v22 = await eg(`/esims/${newIccid}/bundles`, { version: 'v2.2' });
    expect(v22.json.bundles[0].assignments[0].bundleState).toBeUndefined();

    // Use data through the simulated network: the bundle becomes active with fewer bytes left.
    const auth = { 'RT-AccessCode': partner.accessCode, 'content-type': 'application/json' };
    for (const step of ['install', 'enable']) expect((await fetch(`${server.baseUrl}/sandbox/esims/${newIccid}/${step}`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(200);
    await fetch(`${server.baseUrl}/sandbox/esims/${newIccid}/usage`, { method: 'POST', headers: auth, body: JSON.stringify({ bytes: 600_000_000 }) });
    const named = await eg(`/esims/${newIccid}/bundles/esim_1GB_7D_US_V2`);
    validateOp(named.json, '/esims/{iccid}/bundles/{name}', 'get');
    expect(named.json.assignments[0].bundleState).toBe('active');
    expect(named.json.assignments[0].remainingQuantity).toBe(1073741824 - 600_000_000);
    const installed = await eg(`/esims/${newIccid}`);
    expect(installed.json.profileStatus).toBe('Installed');
    expect(typeof installed.json.firstInstalledDateTime).toBe('number');

    const history = await eg(`/esims/${newIccid}/history`);
    expectValid(history.json, { type: 'array', items: componentRef('ESIMHistory') });
    expect(history.json.map((h: any) => h.name)).toContain('Bundle Applied');
    expect(history.json.map((h: any) => h.name)).toContain('eSIM Utilisation Alert');
    const h23 = await eg(`/esims/${newIccid}/history`, { version: 'v2.3' });
    expect(h23.json.find((h: any) => h.name === 'eSIM Utilisation Alert').alertType).toBe('50% Used');

    const loc = await eg(`/esims/${newIccid}/location`);
    validateOp(loc.json, '/esims/{iccid}/location', 'get');
    expect(loc.json.country).toBe('US');
    const refresh = await eg(`/esims/${newIccid}/refresh`);
    validateOp(refresh.json, '/esims/{iccid}/refresh', 'get');
    const compat = await eg(`/esims/${newIccid}/compatible/esim_1GB_7D_US_V2`);
    validateOp(compat.json, '/esims/{iccid}/compatible/{bundle}', 'get');
    expect(compat.json.compatible).toBe(true);
    expect((await eg(`/esims/${newIccid}/compatible/esim_1GB_7D_US_V2`, { version: 'v2.3' })).status).toBe(404);

    const put = await eg('/esims', { method: 'PUT', body: { iccid: newIccid, customerRef: 'cust-42' } });
    validateOp(put.json, '/esims', 'put');
    const filtered = await eg('/esims?filterBy=customerRef&filter=eq:cust-42');
    expect(filtered.json.esims.map((e: any) => e.iccid)).toEqual([newIccid]);
    expect((await eg('/esims/8999999999999999999')).status).toBe(404);
  });

  it('tops up an existing eSIM in an order with iccids', async () => {
    const before = await balance();
    const tx = await eg('/orders', { method: 'POST', body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 1, item: 'esim_1GB_7D_US_V2', iccids: [newIccid] }] } });
    expect(tx.status).toBe(200);
    expect(tx.json.order[0].iccids).toEqual([newIccid]);
    expect(await balance()).toBeCloseTo(before - tx.json.total, 4);
    const named = await eg(`/esims/${newIccid}/bundles/esim_1GB_7D_US_V2`);
    expect(named.json.assignments.map((x: any) => x.bundleState)).toEqual(['active', 'queued']);
    const mismatch = await eg('/orders', { method: 'POST', body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 2, item: 'esim_1GB_7D_US_V2', iccids: [newIccid] }] } });
    expect(mismatch.status).toBe(400);
  });

  it('gives inventory back when new eSIMs cannot be made for an apply (live partner, empty profile pool)', async () => {
    const live = await server.createPartner({ environment: 'live' });
    const bought = await eg('/orders', { key: live.accessCode, method: 'POST', body: { type: 'transaction', assign: false, order: [{ type: 'bundle', quantity: 2, item: 'esim_1GB_7D_US_V2' }] } });
    expect(bought.status).toBe(200);
    const remaining = async () => (await eg('/inventory', { key: live.accessCode })).json.bundles.find((b: any) => b.name === 'esim_1GB_7D_US_V2').available[0].remaining;
    expect(await remaining()).toBe(2);
    const balanceBefore = (await eg('/organisation', { key: live.accessCode })).json;
    // No profiles were imported for this package: allocation fails for good, the order is failed.
    await eg('/esims/apply', { key: live.accessCode, method: 'POST', body: { name: 'esim_1GB_7D_US_V2' } });
    const deadline = Date.now() + 15_000;
    while ((await remaining()) !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await remaining()).toBe(2);
    const failed = await server.ctx.store.db.selectFrom('orders').select(['status']).where('partner_id', '=', live.partnerId).where('transaction_id', 'like', 'esimgo:%').execute();
    expect(failed.map((o) => o.status)).toContain('failed');
    expect((await eg('/organisation', { key: live.accessCode })).json).toEqual(balanceBefore);
  });

  it('buys into inventory, applies to new and existing eSIMs, refunds and revokes', async () => {
    const before = await balance();
    const tx = await eg('/orders', { method: 'POST', body: { type: 'transaction', assign: false, order: [{ type: 'bundle', quantity: 4, item: 'esim_1GB_7D_US_V2' }] } });
    expect(tx.status).toBe(200);
    expect(tx.json.assigned).toBe(false);
    expect(tx.json.order[0].iccids).toBeUndefined();
    expect(await balance()).toBeCloseTo(before - tx.json.total, 4);
    const inv = await eg('/inventory');
    validateOp(inv.json, '/inventory', 'get');
    const entry = inv.json.bundles.find((b: any) => b.name === 'esim_1GB_7D_US_V2');
    expect(entry.available[0]).toMatchObject({ total: 4, remaining: 4 });
    const usageId = entry.available[0].id;

    // To a new eSIM.
    const applied = await eg('/esims/apply', { method: 'POST', body: { name: 'esim_1GB_7D_US_V2' } });
    expect(applied.status).toBe(200);
    validateOp(applied.json, '/esims/apply', 'post');
    expect(applied.json.esims).toHaveLength(1);
    const appliedIccid = applied.json.esims[0].iccid;
    expect(appliedIccid).toMatch(/^89\d+$/);
    // To an existing eSIM.
    const onto = await eg('/esims/apply', { method: 'POST', body: { iccid: newIccid, name: 'esim_1GB_7D_US_V2' } });
    expect(onto.json.esims[0]).toMatchObject({ iccid: newIccid, bundle: 'esim_1GB_7D_US_V2' });
    // Install details of the apply reference.
    const csv = await eg(`/esims/assignments?reference=${applied.json.applyReference}`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text).toContain(appliedIccid);
    expect(await balance()).toBeCloseTo(before - tx.json.total, 4); // applying charges nothing

    const after = (await eg('/inventory')).json.bundles.find((b: any) => b.name === 'esim_1GB_7D_US_V2');
    expect(after.available[0].remaining, JSON.stringify([applied.json, onto.json, after])).toBe(2);
    const refund = await eg('/inventory/refund', { method: 'POST', body: { usageId, quantity: 1 } });
    expect(refund.status).toBe(200);
    validateOp(refund.json, '/inventory/refund', 'post');
    expect(await balance()).toBeCloseTo(before - tx.json.total + tx.json.order[0].pricePerUnit, 4);
    expect((await eg('/inventory/refund', { method: 'POST', body: { usageId, quantity: 5 } })).status).toBe(400);

    // Revoke the unused assignment on the existing eSIM: it returns to inventory.
    const named = await eg(`/esims/${newIccid}/bundles/esim_1GB_7D_US_V2`);
    const queued = named.json.assignments.filter((x: any) => x.bundleState === 'queued');
    expect(queued.length).toBe(2);
    const validateRevoke = await eg(`/esims/${newIccid}/bundles/esim_1GB_7D_US_V2?type=validate`, { method: 'DELETE' });
    expect(validateRevoke.json.status).toContain('inventory');
    const revoke = await eg(`/esims/${newIccid}/bundles/esim_1GB_7D_US_V2/assignments/${queued[1].id}`, { method: 'DELETE' });
    expect(revoke.status).toBe(200);
    validateOp(revoke.json, '/esims/{iccid}/bundles/{name}/assignments/{assignmentId}', 'delete');
    expect(revoke.json.status).toBe('Successfully Revoked Bundle, bundle has been refunded to inventory');
    const inv2 = (await eg('/inventory')).json.bundles.find((b: any) => b.name === 'esim_1GB_7D_US_V2');
    expect(inv2.available.reduce((s: number, a: any) => s + a.remaining, 0)).toBe(2);
    const states = (await eg(`/esims/${newIccid}/bundles/esim_1GB_7D_US_V2`)).json.assignments.map((x: any) => x.bundleState);
    expect(states).toContain('revoked');
    // Revoke the other one to the balance.
    const b0 = await balance();
    const toBalance = await eg(`/esims/${newIccid}/bundles/esim_1GB_7D_US_V2?refundToBalance=true`, { method: 'DELETE' });
    expect(toBalance.json.status).toContain('balance');
    expect(await balance()).toBeGreaterThan(b0);
  });

  it('answers assignments as CSV, JSON and a ZIP of QR PNGs that decode to the activation codes', async () => {
    const tx = await eg('/orders', { method: 'POST', body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 2, item: 'esim_1GB_7D_US_V2' }] } });
    const ref = tx.json.orderReference;
    const iccids: string[] = tx.json.order[0].iccids;
    expect(iccids).toHaveLength(2);

    const csv = await eg(`/esims/assignments?reference=${ref}`);
    expect(csv.status).toBe(200);
    expect(csv.text.split('\n')[0]).toBe('"ICCID","Matching ID","RSP URL","Bundle","Reference"');
    for (const iccid of iccids) expect(csv.text).toContain(iccid);

    const json = await eg(`/esims/assignments?reference=${ref}`, { headers: { Accept: 'application/json' } });
    expect(Array.isArray(json.json)).toBe(true);
    for (const item of json.json) expectValid(item, componentRef('eSIMDetailsInstallResponse'));
    const single = await eg(`/esims/assignments?reference=${orderRef}`, { headers: { Accept: 'application/json' } });
    validateOp(single.json, '/esims/assignments', 'get');

    const zip = await eg(`/esims/assignments?reference=${ref}`, { headers: { Accept: 'application/zip' } });
    expect(zip.headers.get('content-type')).toContain('application/zip');
    const files = unzipSync(new Uint8Array(zip.buffer));
    const pngs = Object.keys(files).filter((f) => f.endsWith('.png'));
    expect(pngs.sort()).toEqual(iccids.map((i) => `${i}.png`).sort());
    expect(strFromU8(files['iccids.csv'])).toContain(iccids[0]);
    for (const name of pngs) {
      const png = PNG.sync.read(Buffer.from(files[name]));
      const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
      const esim = json.json.find((e: any) => `${e.iccid}.png` === name);
      expect(code?.data).toBe(`LPA:1$${esim.smdpAddress}$${esim.matchingId}`);
    }

    // Deprecated endpoints.
    const qr = await eg(`/esims/qr/${ref}`);
    expect(qr.headers.get('content-type')).toContain('application/zip');
    expect(Object.keys(unzipSync(new Uint8Array(qr.buffer))).filter((f) => f.endsWith('.png'))).toHaveLength(2);
    const dcsv = await eg(`/esims/csv/${ref}?additionalFields=appleInstallUrl`);
    expect(dcsv.text).toContain('esimsetup.apple.com');
    expect((await eg(`/esims/assignments?reference=${ref}`, { version: 'v2' })).status).toBe(404);
    expect((await eg('/esims/assignments')).status).toBe(400);
  });

  it('suspends and deletes eSIMs on v2.5 only', async () => {
    const tx = await eg('/orders', { method: 'POST', body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 1, item: 'esim_1GB_7D_US_V2' }] } });
    const iccid = tx.json.order[0].iccids[0];
    expect((await eg(`/esims/${iccid}/suspend`, { method: 'POST', body: { suspend: true } })).status).toBe(404);
    const s = await eg(`/esims/${iccid}/suspend`, { version: 'v2.5', method: 'POST', body: { suspend: true } });
    expect(s.status).toBe(201);
    expect(s.json.status).toBe('eSIM suspended successfully');
    expect((await eg(`/esims/${iccid}/suspend`, { version: 'v2.5' })).json).toEqual({ suspended: true });
    expect((await eg(`/esims/${iccid}`, { version: 'v2.5' })).json.state).toBe('suspended');
    expect((await eg(`/esims/${iccid}/suspend`, { version: 'v2.5', method: 'POST', body: { suspend: false } })).status).toBe(201);
    expect((await eg(`/esims/${iccid}`, { version: 'v2.5' })).json.state).toBe('active');
    expect((await eg(`/esims/${iccid}`, { method: 'DELETE' })).status).toBe(404);
    const del = await eg(`/esims/${iccid}`, { version: 'v2.5', method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await eg(`/esims/${iccid}`, { version: 'v2.5' })).status).toBe(404);
  });

  it('shows an order placed in the eSIM Access dialect and manages its eSIM', async () => {
    const { orderNo, esim } = await orderOne(server, partner, 'US_1_7', 'ea-cross-1');
    const order = await eg(`/orders/${orderNo}`);
    expect(order.status).toBe(200);
    expectValid(order.json, componentRef('OrderResponseTransaction'));
    expect(order.json.order[0]).toMatchObject({ item: 'esim_1GB_7D_US_V2', iccids: [esim.iccid] });
    const list = await eg('/orders?limit=100');
    expect(list.json.orders.map((o: any) => o.orderReference)).toContain(orderNo);
    const bundles = await eg(`/esims/${esim.iccid}/bundles`);
    expect(bundles.json.bundles[0].assignments[0].assignmentReference.startsWith(orderNo)).toBe(true);
    const csv = await eg(`/esims/assignments?reference=${orderNo}`);
    expect(csv.text).toContain(esim.iccid);
    // Balance is the same in both dialects.
    const eaBalance = (await server.ea('/balance/query', {}, partner)).json.obj.balance;
    expect(await balance()).toBeCloseTo(eaBalance / 10_000, 4);
    // Managed here, seen there.
    expect((await eg(`/esims/${esim.iccid}/suspend`, { version: 'v2.5', method: 'POST', body: { suspend: true } })).status).toBe(201);
    const q = await server.ea('/esim/query', { iccid: esim.iccid, pager: { pageNum: 1, pageSize: 10 } }, partner);
    expect(q.json.obj.esimList[0].esimStatus).toBe('SUSPENDED');
  });

  it('delivers callbacks in eSIM Go shapes signed with X-Signature-SHA256', async () => {
    const cb = await server.createPartner();
    const saved = await eg('/organisation/callback', { method: 'PUT', key: cb.accessCode, body: { callbackUrl: receiverUrl, callbackVersion: 'V3' } });
    expect(saved.status).toBe(200);
    expect((await eg('/organisation', { key: cb.accessCode })).json.callbackUrl).toBe(receiverUrl);
    callbacks = [];
    const tx = await eg('/orders', { method: 'POST', key: cb.accessCode, body: { type: 'transaction', assign: true, order: [{ type: 'bundle', quantity: 1, item: 'esim_1GB_7D_US_V2' }] } });
    const iccid = tx.json.order[0].iccids[0];
    const auth = { 'RT-AccessCode': cb.accessCode, 'content-type': 'application/json' };
    for (const step of ['install', 'enable']) expect((await fetch(`${server.baseUrl}/sandbox/esims/${iccid}/${step}`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(200);
    await fetch(`${server.baseUrl}/sandbox/esims/${iccid}/usage`, { method: 'POST', headers: auth, body: JSON.stringify({ bytes: 600_000_000 }) });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !callbacks.some((c) => JSON.parse(c.body).alertType === 'Utilisation')) await new Promise((r) => setTimeout(r, 50));
    const usage = callbacks.find((c) => JSON.parse(c.body).alertType === 'Utilisation');
    expect(usage).toBeTruthy();
    const payload = JSON.parse(usage!.body);
    expectValid(payload, componentRef('BundleAlert'));
    expect(payload).toMatchObject({ iccid, alertType: 'Utilisation', bundle: { name: 'esim_1GB_7D_US_V2', initialQuantity: 1073741824, remainingQuantity: 1073741824 - 600_000_000, unlimited: false } });
    const expected = createHmac('sha256', cb.accessCode).update(usage!.body).digest('base64');
    expect(usage!.headers['x-signature-sha256']).toBe(expected);
    expect(callbacks.some((c) => JSON.parse(c.body).alertType === 'FirstUse')).toBe(true);
  });
});
