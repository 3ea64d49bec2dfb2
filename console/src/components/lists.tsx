import { useCallback, useEffect, useRef, useState, type Dispatch, type ReactNode, type SetStateAction } from 'react';
import { api } from '../api.ts';
import { Empty, Loading, LoadMore } from './ui.tsx';

/** A cursor page: /v1 lists and the console's own lists answer this shape. */
interface CursorPage<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface CursorList<T> {
  rows: T[];
  /** For a row changed in place (e.g. re-sent) without reading the list again. */
  setRows: Dispatch<SetStateAction<T[]>>;
  loading: boolean;
  error: Error | null;
  hasMore: boolean;
  loadMore: () => void;
  reload: () => void;
}

function withCursor(url: string, cursor: string | null): string {
  return cursor ? `${url}${url.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}` : url;
}

/**
 * The first page of a cursor list at `url` (which carries the filters and limit), read again when the url,
 * `deps` or `reload()` change it; `loadMore()` appends the next page. Rows of an abandoned list (a filter
 * changed meanwhile) are dropped. A null url reads nothing.
 */
export function useCursorList<T>(url: string | null, deps: unknown[] = []): CursorList<T> {
  const [rows, setRows] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(url !== null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  // The current list's controller: aborting it drops the first page and any "load more" still running.
  const current = useRef<AbortController | null>(null);

  const fetchPage = useCallback(
    async (after: string | null, controller: AbortController) => {
      if (url === null) return;
      setLoading(true);
      try {
        const page = await api.get<CursorPage<T>>(withCursor(url, after), { signal: controller.signal });
        if (controller.signal.aborted) return;
        setRows((prev) => (after ? [...prev, ...page.data] : page.data));
        setCursor(page.has_more ? page.next_cursor : null);
        setError(null);
      } catch (err) {
        if (!controller.signal.aborted && (err as Error).name !== 'AbortError') setError(err as Error);
      } finally {
        if (!controller.signal.aborted) setLoading(false);
      }
    },
    [url],
  );

  useEffect(() => {
    if (url === null) {
      setRows([]);
      setCursor(null);
      setLoading(false);
      return;
    }
    const controller = new AbortController();
    current.current = controller;
    void fetchPage(null, controller);
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fetchPage, tick, ...deps]);

  const loadMore = useCallback(() => {
    if (cursor && current.current) void fetchPage(cursor, current.current);
  }, [cursor, fetchPage]);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  return { rows, setRows, loading, error, hasMore: cursor !== null, loadMore, reload };
}

/** The box every list table scrolls in. */
function TableWrap({ className, children }: { className?: string; children: ReactNode }) {
  return <div className={className ? `table-wrap ${className}` : 'table-wrap'}>{children}</div>;
}

/**
 * A table of rows read in one piece: a spinner until the first answer (`rows` undefined), `empty` when there
 * are none, else the table `children` draws of them.
 */
export function RowsTable<T>({ rows, loading, empty, className, children }: { rows: T[] | undefined; loading: boolean; empty: ReactNode; className?: string; children: (rows: T[]) => ReactNode }) {
  if (!rows) return loading ? <Loading /> : null;
  if (rows.length === 0) return <Empty>{empty}</Empty>;
  return <TableWrap className={className}>{children(rows)}</TableWrap>;
}

/**
 * A cursor list's body: Loading or the empty message while there are no rows, else the table (in a
 * `.table-wrap`), then Load more. Errors are the caller's to show, next to its own.
 */
export function CursorTable<T>({ list, empty, className, children }: { list: CursorList<T>; empty: ReactNode; className?: string; children: ReactNode }) {
  return (
    <>
      {list.rows.length === 0 ? list.loading ? <Loading /> : <Empty>{empty}</Empty> : <TableWrap className={className}>{children}</TableWrap>}
      <LoadMore hasMore={list.hasMore} busy={list.loading} onMore={list.loadMore} />
    </>
  );
}

/** Offset paging for the operator's counted lists: changing a filter goes back to the first page. */
export function useOffsetPaging() {
  const [offset, setOffset] = useState(0);
  const filter = (set: (value: string) => void) => (event: { target: { value: string } }) => {
    set(event.target.value);
    setOffset(0);
  };
  return { offset, setOffset, filter };
}

/** "1–25 of 180" with Previous and Next. */
export function OffsetPager({ offset, total, pageSize, onOffset }: { offset: number; total: number; pageSize: number; onOffset: (offset: number) => void }) {
  return (
    <div className="op-pager">
      <span className="small muted">
        {Math.min(offset + 1, total)}–{Math.min(offset + pageSize, total)} of {total}
      </span>
      <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - pageSize))}>
        Previous
      </button>
      <button type="button" className="btn btn-small" disabled={offset + pageSize >= total} onClick={() => onOffset(offset + pageSize)}>
        Next
      </button>
    </div>
  );
}

/** A labelled filter over a list: options are [value, label] pairs, '' meaning no filter. */
export function FilterSelect({ id, label, value, options, onChange }: { id: string; label: string; value: string; options: Array<[string, string]>; onChange: (event: { target: { value: string } }) => void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={onChange}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}
