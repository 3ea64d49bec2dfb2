import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.ts';
import { walletBalanceFast } from '../../../domain/ledger/ledger.ts';
import { csvField } from '../../../domain/catalog/csv.ts';
import { DomainError } from '../../../domain/errors.ts';
import { caller } from '../guard.ts';
import { page, pageSorted } from '../pagination.ts';
import { listTransferPage, timeParam } from '../queries.ts';
import { iso, renderApiKey, renderTransaction } from '../render.ts';
import { ApiKeyBody, ApiKeyCreatedSchema, ApiKeySchema, BalanceSchema, IdParams, ListOf, PageQuery, TransactionExportQuery, TransactionQuery, TransactionSchema } from '../schemas.ts';
import { errorResponses, op } from '../kit.ts';

type TxQuery = { limit?: number; cursor?: string; kind?: string; created_after?: string; created_before?: string };

const EXPORT_PAGE = 1000;

export async function accountRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const db = ctx.store.db;

  app.get(
    '/balance',
    { schema: { ...op('Balance', 'getBalance', 'Your balance'), response: { 200: BalanceSchema, ...errorResponses } } },
    async (request) => {
      const { partner } = caller(request);
      const balance = await walletBalanceFast(ctx.store, partner.id);
      return { object: 'balance' as const, available: balance.balanceMinor, currency: balance.currency, updated_at: iso(balance.updatedAtMs)! };
    },
  );

  app.get<{ Querystring: TxQuery }>(
    '/transactions',
    {
      schema: {
        ...op('Balance', 'listTransactions', 'List ledger transactions, newest first'),
        querystring: TransactionQuery,
        response: { 200: ListOf(TransactionSchema, 'Transaction'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 20;
      const rows = await listTransferPage(db, caller(request).partner.id, { limit, cursor: q.cursor, kind: q.kind, afterMs: timeParam(q.created_after, 'created_after'), beforeMs: timeParam(q.created_before, 'created_before') });
      return page(rows, limit, (t) => [Number(t.seq)], renderTransaction);
    },
  );

  app.get<{ Querystring: Omit<TxQuery, 'limit' | 'cursor'> }>(
    '/transactions/export',
    {
      schema: {
        ...op('Balance', 'exportTransactions', 'Export ledger transactions as CSV', { description: 'Columns: id, created_at, kind, amount, currency, reference, memo. Amounts are signed, in 1/10,000 of the currency.' }),
        querystring: TransactionExportQuery,
        response: { 200: { description: 'CSV, newest first', content: { 'text/csv': { schema: Type.String() } } }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const partnerId = caller(request).partner.id;
      const afterMs = timeParam(q.created_after, 'created_after');
      const beforeMs = timeParam(q.created_before, 'created_before');
      const lines = ['id,created_at,kind,amount,currency,reference,memo'];
      let cursor: string | undefined;
      for (;;) {
        const rows = await listTransferPage(db, partnerId, { limit: EXPORT_PAGE, cursor, kind: q.kind, afterMs, beforeMs });
        const chunk = page(rows, EXPORT_PAGE, (t) => [Number(t.seq)], renderTransaction);
        for (const t of chunk.data) lines.push([t.id, t.created_at, t.kind, String(t.amount), t.currency, t.reference ?? '', t.memo ?? ''].map((v) => csvField(v)).join(','));
        if (!chunk.next_cursor) break;
        cursor = chunk.next_cursor;
      }
      reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="transactions.csv"');
      return `${lines.join('\r\n')}\r\n`;
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/api-keys',
    {
      schema: {
        ...op('API keys', 'listApiKeys', 'List your API keys, oldest first (secrets are never shown again)'),
        querystring: Type.Object(PageQuery),
        response: { 200: ListOf(ApiKeySchema, 'ApiKey'), ...errorResponses },
      },
    },
    async (request) => {
      const keys = await ctx.partners.listKeys(caller(request).partner.id);
      return pageSorted(keys, request.query, ['number', 'string'], (k) => [Number(k.created_at), k.id], renderApiKey);
    },
  );

  app.post<{ Body: { label?: string } | undefined }>(
    '/api-keys',
    {
      schema: {
        ...op('API keys', 'createApiKey', 'Create an API key', { mutating: true }),
        body: ApiKeyBody,
        response: { 201: ApiKeyCreatedSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const who = caller(request);
      const label = request.body?.label ?? '';
      const key = await ctx.partners.createKey(who.partner.id, { label }, ctx.now());
      reply.code(201);
      return { object: 'api_key' as const, id: key.keyId, label, access_code: key.accessCode, secret_key: key.secretKey, previous_key_expires_at: null };
    },
  );

  async function ownKey(partnerId: string, keyId: string) {
    const key = (await ctx.partners.listKeys(partnerId)).find((k) => k.id === keyId);
    if (!key) throw new DomainError('not_found', `The API key ${keyId} does not exist`);
    return key;
  }

  app.post<{ Params: { id: string } }>(
    '/api-keys/:id/roll',
    {
      schema: {
        ...op('API keys', 'rollApiKey', 'Roll an API key', { mutating: true, description: 'Issues a new key; the old one keeps working for a grace period (previous_key_expires_at) so you can redeploy.' }),
        params: IdParams,
        response: { 201: ApiKeyCreatedSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const who = caller(request);
      const old = await ownKey(who.partner.id, request.params.id);
      const { key, oldKeyExpiresAt } = await ctx.partners.rollKey(old.id, ctx.now());
      ctx.keys.invalidate();
      reply.code(201);
      return { object: 'api_key' as const, id: key.keyId, label: old.label, access_code: key.accessCode, secret_key: key.secretKey, previous_key_expires_at: iso(oldKeyExpiresAt) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api-keys/:id',
    {
      schema: { ...op('API keys', 'revokeApiKey', 'Revoke an API key (at once)', { mutating: true }), params: IdParams, response: { 200: ApiKeySchema, ...errorResponses } },
    },
    async (request) => {
      const who = caller(request);
      const key = await ownKey(who.partner.id, request.params.id);
      await ctx.partners.revokeKey(key.id, ctx.now());
      ctx.keys.invalidate();
      return renderApiKey(await ownKey(who.partner.id, key.id));
    },
  );
}
