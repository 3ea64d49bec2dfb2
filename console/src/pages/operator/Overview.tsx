import { useEffect } from 'react';
import { Link } from 'wouter';
import { api } from '../../api.ts';
import { formatMoney, formatTime } from '../../format.ts';
import { Card, ErrorNotice, Loading, Notice, PageHeader, Stat, StatusBadge, useAsync } from '../../components/ui.tsx';
import type { Latency, Overview, SupplySource } from './operator-types.ts';
import './operator.css';

/** How often the overview refreshes itself while open. */
const REFRESH_MS = 15_000;

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

function latency(l: Latency | null): string {
  if (!l || l.count === 0) return 'no samples in the last 5 min';
  return `p50 ${ms(l.p50_ms)} · p90 ${ms(l.p90_ms)} (${l.count})`;
}

function ago(iso: string | null): string {
  if (!iso) return '—';
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

const HEALTH_LABEL: Record<SupplySource['status'], string> = { ok: 'Healthy', warning: 'Needs attention', down: 'Failing', unused: 'Not in use' };

function Health({ status }: { status: SupplySource['status'] | 'ok' | 'down' }) {
  return (
    <span className="op-status">
      <span className={`op-dot op-dot-${status}`} aria-hidden="true" />
      {HEALTH_LABEL[status]}
    </span>
  );
}

function money(list: Array<{ currency: string; amount_minor: number }>): string {
  return list.length ? list.map((a) => formatMoney(a.amount_minor, a.currency)).join(' + ') : '—';
}

export function OperatorOverviewPage() {
  const overview = useAsync((signal) => api.get<Overview>('/console/api/operator/overview', { signal }), []);
  const { reload } = overview;
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const o = overview.data;

  return (
    <>
      <PageHeader
        title="Overview"
        subtitle={o ? `System at a glance · updated ${formatTime(o.generated_at)}` : 'System at a glance'}
        actions={
          <button type="button" className="btn" onClick={reload} disabled={overview.loading}>
            {overview.loading ? 'Refreshing…' : 'Refresh'}
          </button>
        }
      />
      <ErrorNotice error={overview.error} />
      {!o ? (
        overview.loading ? <Loading /> : null
      ) : (
        <>
          {o.deposits.pending > 0 ? (
            <Notice kind="warning">
              {o.deposits.pending} deposit request{o.deposits.pending === 1 ? '' : 's'} waiting ({money(o.deposits.amount_by_currency)}), oldest {ago(o.deposits.oldest_at)}.{' '}
              <Link href="/operator/deposits">Review deposits</Link>
            </Notice>
          ) : null}
          {o.low_stock.length > 0 ? (
            <Notice kind="warning">
              Low profile stock: {o.low_stock.map((p) => `${p.pool} (${p.available} left, alert at ${p.threshold})`).join(', ')}. <Link href="/operator/pools">Import profiles</Link>
            </Notice>
          ) : null}
          {o.database.status !== 'ok' ? (
            <div className="notice notice-error" role="alert">
              Database not ready: {o.database.error ?? `pending migrations ${o.database.pending_migrations.join(', ')}`}
            </div>
          ) : null}

          <div className="grid">
            <Stat label="Partners" value={o.partners.total} hint={`${o.partners.live} live · ${o.partners.sandbox} sandbox · ${o.partners.suspended} suspended`} />
            <Stat label="eSIMs" value={o.esims.total} hint={`${o.esims.live} live · ${o.esims.sandbox} sandbox`} />
            <Stat label="Orders, last 24 h" value={o.orders_24h.live.total + o.orders_24h.sandbox.total} hint={`${o.orders_24h.live.total} live (${money(o.orders_24h.live.amount_by_currency)}) · ${o.orders_24h.sandbox.total} sandbox`} />
            <Stat label="Pending deposits" value={o.deposits.pending} hint={money(o.deposits.amount_by_currency)} />
            <Stat label="Job queue" value={o.jobs.queued} hint={`${o.jobs.overdue} overdue · ${o.jobs.failed} failed`} />
            <Stat label="Webhook backlog" value={o.webhooks.pending + o.webhooks.failed} hint={`${o.webhooks.failed} retrying · ${o.webhooks.dead} dead · oldest ${ago(o.webhooks.oldest_backlog_at)}`} />
          </div>

          <h2 className="op-section-title">Supply health</h2>
          <div className="op-health">
            {o.supply.map((s) => (
              <section className="card" key={s.id} aria-labelledby={`supply-${s.id}`}>
                <div className="card-head">
                  <h3 id={`supply-${s.id}`}>{s.name}</h3>
                  <Health status={s.status} />
                </div>
                <p className="small muted">{s.detail}</p>
                {s.orders_24h ? (
                  <dl>
                    <dt>Orders 24 h</dt>
                    <dd>
                      {s.orders_24h.ready ?? 0} ready · {s.orders_24h.failed ?? 0} failed · {s.orders_24h.allocating ?? 0} allocating
                    </dd>
                    <dt>Allocation</dt>
                    <dd>{latency(s.allocation_latency)}</dd>
                    {s.failure_reasons.map((f) => (
                      <FailureReason key={f.reason} reason={f.reason} count={f.count} />
                    ))}
                  </dl>
                ) : null}
              </section>
            ))}
            <section className="card" aria-labelledby="supply-db">
              <div className="card-head">
                <h3 id="supply-db">Database</h3>
                <Health status={o.database.status} />
              </div>
              <dl>
                <dt>Store</dt>
                <dd>{o.database.store}</dd>
                <dt>Round trip</dt>
                <dd>{o.database.latency_ms === null ? '—' : `${o.database.latency_ms} ms`}</dd>
                <dt>Process role</dt>
                <dd>{o.role}</dd>
              </dl>
            </section>
          </div>

          <div className="grid-2">
            <Card title="eSIMs by status">
              {Object.keys(o.esims.by_status).length === 0 ? (
                <p className="muted">No eSIMs yet.</p>
              ) : (
                <div className="table-wrap op-scroll">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Status</th>
                        <th scope="col" className="num">
                          eSIMs
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {Object.entries(o.esims.by_status).map(([status, count]) => (
                        <tr key={status}>
                          <td>
                            <StatusBadge status={status} />
                          </td>
                          <td className="num">{count}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </Card>
            <Card title="Webhooks and jobs">
              <div className="op-kv">
                <div>
                  <span>Pending</span>
                  <strong>{o.webhooks.pending}</strong>
                </div>
                <div>
                  <span>Retrying</span>
                  <strong>{o.webhooks.failed}</strong>
                </div>
                <div>
                  <span>Dead</span>
                  <strong>{o.webhooks.dead}</strong>
                </div>
                <div>
                  <span>Failed attempts 24 h</span>
                  <strong>{o.webhooks.failed_attempts_24h}</strong>
                </div>
              </div>
              <p className="small">Delivery lag (event → delivered): {latency(o.webhooks.lag_5m)}</p>
              {o.jobs.by_kind.length ? (
                <div className="table-wrap op-scroll">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Job kind</th>
                        <th scope="col" className="num">
                          Queued
                        </th>
                        <th scope="col" className="num">
                          Failed
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.jobs.by_kind.map((j) => (
                        <tr key={j.kind}>
                          <td className="mono">{j.kind}</td>
                          <td className="num">{j.queued}</td>
                          <td className="num">{j.failed}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <p className="muted small">No queued or failed jobs.</p>
              )}
            </Card>
          </div>
        </>
      )}
    </>
  );
}

function FailureReason({ reason, count }: { reason: string; count: number }) {
  return (
    <>
      <dt>Failed ×{count}</dt>
      <dd className="small">{reason}</dd>
    </>
  );
}
