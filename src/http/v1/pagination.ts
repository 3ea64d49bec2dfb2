import { Problem } from './problem.ts';

/**
 * Cursor pagination: a cursor is the sort key of the last row of a page, base64url-encoded JSON. Pages are
 * read with `limit + 1` rows so has_more needs no count query.
 */
export function encodeCursor(key: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, shape: ReadonlyArray<'string' | 'number'>): Array<string | number> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === shape.length && value.every((v, i) => typeof v === shape[i])) return value as Array<string | number>;
  } catch {
    // fall through
  }
  throw new Problem('invalid_request', 'cursor is not a cursor this list returned', { errors: [{ loc: 'query.cursor', msg: 'is invalid', type: 'cursor' }] });
}

export function page<Row, Out>(rows: Row[], limit: number, keyOf: (row: Row) => Array<string | number>, render: (row: Row) => Out) {
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  return {
    object: 'list' as const,
    data: shown.map(render),
    has_more: more,
    next_cursor: more && shown.length ? encodeCursor(keyOf(shown[shown.length - 1])) : null,
  };
}

export const DEFAULT_PAGE_LIMIT = 20;

type SortKey = ReadonlyArray<string | number>;

function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

/**
 * A page of a list read whole (the catalogue's locations, a partner's API keys or inventory): sorted here by
 * `keyOf`, which must be unique; the page starts after the cursor's key, so a row removed meanwhile (an
 * inventory line used up) skips nothing.
 */
export function pageSorted<Row, Out>(
  rows: readonly Row[],
  q: { limit?: number; cursor?: string },
  shape: ReadonlyArray<'string' | 'number'>,
  keyOf: (row: Row) => Array<string | number>,
  render: (row: Row) => Out,
) {
  const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
  const after = decodeCursor(q.cursor, shape);
  const sorted = rows.map((row) => ({ row, key: keyOf(row) })).sort((a, b) => compareKeys(a.key, b.key));
  const start = after ? sorted.findIndex((r) => compareKeys(r.key, after) > 0) : 0;
  const shown = start < 0 ? [] : sorted.slice(start, start + limit + 1);
  return page(shown, limit, (r) => r.key, (r) => render(r.row));
}
