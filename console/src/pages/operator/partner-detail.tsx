import { useEffect, useState } from 'react';
import { api, query } from '../../api.ts';
import { formatMoney, formatTime } from '../../format.ts';
import { ErrorNotice, Loading, LoadMore, Notice, StatusBadge, useAction, useAsync } from '../../components/ui.tsx';
import type { OpLedgerRow, OpPartnerDetail, OpTier } from './operator-types.ts';

/** One partner: balance, tier, status actions, console users and the recent ledger. */
export function PartnerDetail({ id, tiers, onChanged }: { id: string; tiers: OpTier[]; onChanged: () => void }) {
  const [version, setVersion] = useState(0);
  const detail = useAsync((signal) => api.get<OpPartnerDetail>(`/console/api/operator/partners/${encodeURIComponent(id)}`, { signal }), [id, version]);
  const [tier, setTier] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [ledger, setLedger] = useState<OpLedgerRow[]>([]);
  const [before, setBefore] = useState<number | null>(null);

  const d = detail.data;
  useEffect(() => {
    if (!d) return;
    setTier(d.partner.price_tier_id);
    setLedger(d.ledger.data);
    setBefore(d.ledger.next_before);
  }, [d]);

  const update = useAction(async (changes: { status?: 'active' | 'suspended'; price_tier_id?: string }, done: string) => {
    await api.patch(`/console/api/operator/partners/${encodeURIComponent(id)}`, changes);
    setMessage(done);
    setVersion((v) => v + 1);
    onChanged();
  });
  const more = useAction(async () => {
    const page = await api.get<{ data: OpLedgerRow[]; next_before: number | null }>(`/console/api/operator/partners/${encodeURIComponent(id)}/ledger${query({ limit: 20, before: before ?? undefined })}`);
    setLedger((rows) => [...rows, ...page.data]);
    setBefore(page.next_before);
  });

  if (!d) return detail.loading ? <Loading /> : <ErrorNotice error={detail.error} />;
  const p = d.partner;
  const suspended = p.status === 'suspended';

  return (
    <div className="op-detail">
      <ErrorNotice error={detail.error ?? update.error ?? more.error} />
      {message ? <Notice kind="success">{message}</Notice> : null}
      <p>
        <strong>{p.name}</strong> <span className="mono small muted">{p.id}</span>
      </p>
      <div className="op-kv">
        <div>
          <span>Balance</span>
          <strong>{formatMoney(p.balance, p.currency)}</strong>
        </div>
        <div>
          <span>Environment</span>
          <strong>{p.environment}</strong>
        </div>
        <div>
          <span>Status</span>
          <StatusBadge status={p.status} />
        </div>
        <div>
          <span>Tier this month</span>
          <strong>{d.tier ? `${d.tier.effective_tier_id} (${(d.tier.price_factor_bps / 100).toFixed(2)} %)` : p.price_tier_id}</strong>
        </div>
        <div>
          <span>Active API keys</span>
          <strong>{d.active_api_keys}</strong>
        </div>
        <div>
          <span>Pending deposits</span>
          <strong>{d.pending_deposits.count ? `${d.pending_deposits.count} · ${formatMoney(d.pending_deposits.amount, p.currency)}` : 'none'}</strong>
        </div>
      </div>

      <form
        className="op-inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void update.run({ price_tier_id: tier }, `Tier changed to ${tier}.`);
        }}
      >
        <div className="field">
          <label htmlFor="detail-tier">Assigned tier</label>
          <select id="detail-tier" value={tier} onChange={(event) => setTier(event.target.value)} disabled={p.status === 'closed'}>
            {tiers.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({(t.price_factor_bps / 100).toFixed(2)} %)
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="btn" disabled={update.busy || tier === p.price_tier_id || p.status === 'closed'}>
          Save tier
        </button>
        {p.status !== 'closed' ? (
          <button
            type="button"
            className={`btn ${suspended ? 'btn-primary' : 'btn-danger'}`}
            disabled={update.busy}
            onClick={() => void update.run({ status: suspended ? 'active' : 'suspended' }, suspended ? 'Reactivated: API keys and console logins work again.' : 'Suspended: API keys and console logins are refused.')}
          >
            {suspended ? 'Reactivate' : 'Suspend'}
          </button>
        ) : null}
      </form>

      <h3>Console users</h3>
      {d.users.length === 0 ? (
        <p className="muted small">No console users (API only).</p>
      ) : (
        <ul className="small">
          {d.users.map((u) => (
            <li key={u.id}>
              {u.email} · {u.status} · last login {formatTime(u.last_login_at)}
            </li>
          ))}
        </ul>
      )}

      <h3>Recent ledger</h3>
      {ledger.length === 0 ? (
        <p className="muted small">No transfers yet.</p>
      ) : (
        <div className="table-wrap op-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col" className="hide-mobile">
                  Memo
                </th>
              </tr>
            </thead>
            <tbody>
              {ledger.map((t) => (
                <tr key={t.id}>
                  <td className="small">{formatTime(t.created_at)}</td>
                  <td>{t.kind}</td>
                  <td className={`num ${t.amount_minor < 0 ? 'num-neg' : ''}`}>{formatMoney(t.amount_minor, t.currency)}</td>
                  <td className="small hide-mobile">{t.memo ?? t.reference ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore hasMore={before !== null} busy={more.busy} onMore={() => void more.run()} />
    </div>
  );
}
