import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { readAnswer, type TestServer } from './server.ts';
import type { PackageTable } from '../../src/store/schema.ts';
import { importProfiles } from '../../src/domain/pools/import.ts';
import { luhnCheckDigit } from '../../src/domain/esims/identifiers.ts';

// jsqr is CommonJS with a typed `default`: take whichever the loader hands us.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

export type DpBase = 'live' | 'sandbox';

export interface HttpAnswer {
  status: number;
  /** The parsed body, or null when it is not JSON. */
  json: any;
  text: string;
}

/** One HTTP request against the test server; the body is read as text and parsed when it is JSON. */
export async function httpJson(server: TestServer, pathName: string, init: RequestInit = {}): Promise<HttpAnswer> {
  return readAnswer(await fetch(`${server.baseUrl}${pathName}`, init));
}

/** A dataplans.io client: the raw key (or `Bearer <key>`), JSON or form-encoded bodies, on either base. */
export function dataplansClient(server: TestServer) {
  return async function dp(base: DpBase, method: string, pathName: string, key: string | null, options: { body?: unknown; form?: Record<string, string>; bearer?: boolean } = {}): Promise<HttpAnswer> {
    const prefix = base === 'live' ? '/api/v1' : '/sandbox/api/v1';
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key) headers.authorization = options.bearer ? `Bearer ${key}` : key;
    let body: string | undefined;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    return httpJson(server, `${prefix}${pathName}`, { method, headers, body });
  };
}

/** The text of the QR code in a `data:image/png;base64,…` URL, or null. */
export function decodeQr(dataUrl: string): string | null {
  const m = /^data:image\/png;base64,(.+)$/.exec(dataUrl);
  if (!m) return null;
  const png = PNG.sync.read(Buffer.from(m[1], 'base64'));
  return jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height)?.data ?? null;
}

/**
 * Imports `count` live profiles for a package: ICCIDs, matching ids (`<matchingPrefix>00000123`) and phone
 * numbers (`<msisdnPrefix>0000123`) numbered from `start`. Tests pick distinct prefixes and starts.
 */
export async function stockPool(server: TestServer, packageCode: string, count: number, start: number, prefixes: { iccid: string; matching: string; msisdn: string }): Promise<void> {
  const rows = ['iccid,smdp_address,matching_id,msisdn'];
  for (let i = 0; i < count; i++) {
    const body = `${prefixes.iccid}${String(start + i).padStart(8, '0')}`;
    rows.push(`${body}${luhnCheckDigit(body)},smdp.live.example.com,${prefixes.matching}${String(start + i).padStart(8, '0')},${prefixes.msisdn}${String(start + i).padStart(7, '0')}`);
  }
  const result = await importProfiles(server.ctx.store.db, {
    rowsText: rows.join('\n'),
    pool: { packageCode },
    batchName: `dp-${prefixes.matching}-${start}`,
    lowStockThreshold: 0,
    nowMs: Date.now(),
    catalogHas: (code) => !!server.ctx.catalog.get(code),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
}

/** A cheap Thailand BASE plan (not a day pass) with top-ups that fit it: a reloadable plan. */
export function reloadablePlan(server: TestServer): PackageTable {
  const topupGroups = new Set(server.ctx.catalog.list({ type: 'TOPUP' }).map((p) => p.topup_group));
  const pkg = server.ctx.catalog.list({ locationCode: 'TH' }).find((p) => p.support_topup_type === 2 && topupGroups.has(p.topup_group) && p.is_daypass === 0);
  if (!pkg) throw new Error('no reloadable TH plan');
  return pkg;
}
