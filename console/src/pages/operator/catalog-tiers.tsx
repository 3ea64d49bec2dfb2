import { useEffect, useState } from 'react';
import { api } from '../../api.ts';
import { formatMoney, parseMoney } from '../../format.ts';
import { Card, ErrorNotice, Loading, Notice, useAction, useAsync } from '../../components/ui.tsx';
import type { OpTier } from './operator-types.ts';

/** The console accepts factors from 10 % to 300 % of list price (the API's range). */
const MIN_PERCENT = 10;
const MAX_PERCENT = 300;

/** Price tiers: the factor on list price each tier pays, and the monthly spend that earns it. */
export function TierTable({ onChanged }: { onChanged: () => void }) {
  const [version, setVersion] = useState(0);
  const tiers = useAsync((signal) => api.get<{ data: OpTier[] }>('/console/api/operator/tiers', { signal }), [version]);
  const [drafts, setDrafts] = useState<Record<string, { percent: string; threshold: string }>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);

  useEffect(() => {
    if (!tiers.data) return;
    setDrafts(Object.fromEntries(tiers.data.data.map((t) => [t.id, { percent: (t.price_factor_bps / 100).toFixed(2), threshold: (t.min_monthly_volume / 10_000).toFixed(2) }])));
  }, [tiers.data]);

  const save = useAction(async (tier: OpTier) => {
    const draft = drafts[tier.id];
    const percent = Number(draft.percent);
    const threshold = parseMoney(draft.threshold);
    if (!/^\d+(\.\d{1,2})?$/.test(draft.percent.trim()) || percent < MIN_PERCENT || percent > MAX_PERCENT) {
      setInvalid(`${tier.name}: the factor must be ${MIN_PERCENT}–${MAX_PERCENT} % with at most 2 decimals.`);
      return;
    }
    if (threshold === null) {
      setInvalid(`${tier.name}: the monthly spend must be an amount such as 5000.00.`);
      return;
    }
    setInvalid(null);
    await api.patch(`/console/api/operator/tiers/${encodeURIComponent(tier.id)}`, { price_factor_bps: Math.round(percent * 100), min_monthly_volume: threshold });
    setMessage(`${tier.name} saved: partners on it pay ${percent.toFixed(2)} % of list price from now on.`);
    setVersion((v) => v + 1);
    onChanged();
  });

  const setDraft = (id: string, key: 'percent' | 'threshold', value: string) => setDrafts((d) => ({ ...d, [id]: { ...d[id], [key]: value } }));

  return (
    <Card title="Price tiers and markups">
      <p className="small muted">
        A partner pays list price × its tier's factor: below 100 % is a discount, above 100 % a markup. A partner gets the better of its assigned tier and the tier its spend this month (in USD) reaches.
      </p>
      {message ? <Notice kind="success">{message}</Notice> : null}
      {invalid ? (
        <div className="notice notice-error" role="alert">
          {invalid}
        </div>
      ) : null}
      <ErrorNotice error={tiers.error ?? save.error} />
      {!tiers.data ? (
        <Loading />
      ) : (
        <div className="table-wrap op-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Tier</th>
                <th scope="col">Factor (% of list)</th>
                <th scope="col">From monthly spend (USD)</th>
                <th scope="col" className="hide-mobile">
                  $10.00 list costs
                </th>
                <th scope="col">
                  <span className="sr-only">Save</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tiers.data.data.map((t) => {
                const draft = drafts[t.id] ?? { percent: '', threshold: '' };
                return (
                  <tr key={t.id}>
                    <td>
                      {t.name} <span className="mono small muted">{t.id}</span>
                    </td>
                    <td>
                      <label className="sr-only" htmlFor={`tier-${t.id}-factor`}>
                        {t.name} factor in percent
                      </label>
                      <input id={`tier-${t.id}-factor`} className="op-factor" inputMode="decimal" value={draft.percent} onChange={(event) => setDraft(t.id, 'percent', event.target.value)} />
                    </td>
                    <td>
                      <label className="sr-only" htmlFor={`tier-${t.id}-threshold`}>
                        {t.name} monthly spend threshold
                      </label>
                      <input id={`tier-${t.id}-threshold`} className="op-factor" inputMode="decimal" value={draft.threshold} onChange={(event) => setDraft(t.id, 'threshold', event.target.value)} />
                    </td>
                    <td className="hide-mobile num">{formatMoney(Math.round((100_000 * t.price_factor_bps) / 10_000), 'USD')}</td>
                    <td>
                      <button type="button" className="btn btn-small" disabled={save.busy} onClick={() => void save.run(t)} aria-label={`Save ${t.name}`}>
                        Save
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
