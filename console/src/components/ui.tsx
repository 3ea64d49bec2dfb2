import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api.ts';

/** Loads data on mount and when `deps` change; `reload()` refetches. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): { data: T | undefined; error: Error | null; loading: boolean; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal)
      .then((value) => {
        if (!controller.signal.aborted) {
          setData(value);
          setError(null);
        }
      })
      .catch((err: Error) => {
        if (!controller.signal.aborted && err.name !== 'AbortError') setError(err);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** Runs an action (a button's click), tracking busy state and the error it ended with. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>): { run: (...args: A) => Promise<R | undefined>; busy: boolean; error: Error | null; clearError: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = useCallback(
    async (...args: A) => {
      setBusy(true);
      setError(null);
      try {
        return await action(...args);
      } catch (err) {
        setError(err as Error);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [action],
  );
  return { run, busy, error, clearError: () => setError(null) };
}

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="muted">{subtitle}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function ErrorNotice({ error }: { error: Error | null | undefined }) {
  if (!error) return null;
  const problem = error instanceof ApiError ? error.problem : null;
  return (
    <div className="notice notice-error" role="alert">
      <strong>{problem?.title ?? 'Something went wrong'}</strong>
      <div>{error.message}</div>
      {problem?.errors?.length ? (
        <ul>
          {problem.errors.map((e, i) => (
            <li key={`${i}:${e.loc}`}>
              <code>{e.loc}</code> {e.msg}
            </li>
          ))}
        </ul>
      ) : null}
      {problem?.request_id ? <div className="muted small">Request id: {problem.request_id}</div> : null}
    </div>
  );
}

export function Notice({ kind = 'info', children }: { kind?: 'info' | 'success' | 'warning'; children: ReactNode }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'success' ? 'status' : undefined}>
      {children}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      {label}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Field({ label, hint, children, error }: { label: string; hint?: ReactNode; error?: string | null; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint ? <div className="hint">{hint}</div> : null}
      {error ? (
        <div className="field-error" role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

export function Card({ title, children, actions, className }: { title?: ReactNode; children: ReactNode; actions?: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`}>
      {title || actions ? (
        <div className="card-head">
          {title ? <h2>{title}</h2> : <span />}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {hint ? <div className="stat-hint">{hint}</div> : null}
    </div>
  );
}

const STATUS_TONE: Record<string, string> = {
  GOT_RESOURCE: 'info',
  IN_USE: 'ok',
  USED_UP: 'warn',
  UNUSED_EXPIRED: 'muted',
  USED_EXPIRED: 'muted',
  CANCEL: 'bad',
  SUSPENDED: 'warn',
  REVOKE: 'bad',
  active: 'ok',
  pending: 'warn',
  approved: 'ok',
  rejected: 'bad',
  suspended: 'warn',
  closed: 'muted',
  delivered: 'ok',
  failed: 'bad',
  dead: 'bad',
  completed: 'ok',
  allocating: 'info',
  retired: 'muted',
};

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${STATUS_TONE[status] ?? 'info'}`}>{status}</span>;
}

/** A usage bar: used of total bytes, labelled for screen readers. */
export function UsageBar({ usedBytes, totalBytes, label }: { usedBytes: number; totalBytes: number; label?: string }) {
  const unlimited = totalBytes <= 0;
  const ratio = unlimited ? 0 : Math.min(1, usedBytes / totalBytes);
  const percent = Math.round(ratio * 100);
  return (
    <div className="usage" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-label={label ?? 'Data used'}>
      <div className={`usage-fill ${ratio >= 0.9 ? 'usage-high' : ''}`} style={{ width: `${percent}%` }} />
    </div>
  );
}

/** A vertical bar chart of a daily series, as an accessible SVG with a table fallback for screen readers. */
export function BarChart({ points, format, label }: { points: Array<{ date: string; value: number }>; format: (value: number) => string; label: string }) {
  const width = 600;
  const height = 160;
  const max = Math.max(1, ...points.map((p) => p.value));
  const barWidth = points.length ? width / points.length : width;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={label} preserveAspectRatio="none">
        {points.map((p, i) => {
          const h = Math.round((p.value / max) * height);
          return (
            <g key={p.date}>
              <rect x={i * barWidth + 2} y={height - h} width={Math.max(1, barWidth - 4)} height={h} className="chart-bar">
                <title>{`${p.date}: ${format(p.value)}`}</title>
              </rect>
              {points.length <= 14 || i % Math.ceil(points.length / 10) === 0 ? (
                <text x={i === 0 ? 0 : i * barWidth + barWidth / 2} y={height + 14} textAnchor={i === 0 ? 'start' : 'middle'} className="chart-label">
                  {p.date.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="sr-only">
        {label}: {points.map((p) => `${p.date} ${format(p.value)}`).join(', ')}
      </figcaption>
    </figure>
  );
}

/** An accessible modal dialog (native <dialog>: focus trap and Escape for free). */
export function Modal({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className="modal" onClose={onClose} aria-label={title}>
      <div className="modal-head">
        <h2>{title}</h2>
        <button type="button" className="btn btn-ghost" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {open ? children : null}
    </dialog>
  );
}

/** Copies text to the clipboard, saying so. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-small"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/** "Load more" pagination over /v1 cursor pages. */
export function LoadMore({ hasMore, onMore, busy }: { hasMore: boolean; onMore: () => void; busy?: boolean }) {
  if (!hasMore) return null;
  return (
    <div className="load-more">
      <button type="button" className="btn" onClick={onMore} disabled={busy}>
        {busy ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}
