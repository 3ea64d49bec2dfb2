import { useState } from 'react';
import { api, query } from '../../api.ts';
import { formatMoney, formatTime } from '../../format.ts';
import { ErrorNotice, Field } from '../../components/ui.tsx';
import { CursorTable, useCursorList } from '../../components/lists.tsx';
import type { Transaction, TransactionKind } from '../../v1-types.ts';

const KINDS: TransactionKind[] = ['deposit', 'charge', 'refund', 'adjustment', 'withdrawal'];

function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString();
}

/** Ledger history from /v1/transactions with kind and date filters, Load more, and the CSV export. */
export function LedgerHistory({ version }: { version: number }) {
  const [kind, setKind] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const filters = { kind: kind || undefined, created_after: from ? `${from}T00:00:00Z` : undefined, created_before: to ? nextDay(to) : undefined };
  const list = useCursorList<Transaction>(`/v1/transactions${query({ ...filters, limit: 25 })}`, [version]);

  return (
    <>
      <div className="filters">
        <Field label="Kind">
          {(id) => (
            <select id={id} value={kind} onChange={(e) => setKind(e.target.value)}>
              <option value="">All</option>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="From (UTC)">{(id) => <input id={id} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />}</Field>
        <Field label="To (UTC)">{(id) => <input id={id} type="date" value={to} onChange={(e) => setTo(e.target.value)} />}</Field>
        <a className="btn" href={`/v1/transactions/export${query(filters)}`} download="transactions.csv">
          Download CSV
        </a>
      </div>
      <ErrorNotice error={list.error} />
      <CursorTable list={list} empty={`No transactions${kind || from || to ? ' match these filters' : ' yet'}.`}>
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Kind</th>
              <th scope="col" className="num">
                Amount
              </th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map((t) => (
              <tr key={t.id}>
                <td className="small">{formatTime(t.created_at)}</td>
                <td>{t.kind}</td>
                <td className={`num ${t.amount < 0 ? 'billing-debit' : 'billing-credit'}`}>{(t.amount > 0 ? '+' : '') + formatMoney(t.amount, t.currency)}</td>
                <td className="small">
                  {t.memo ?? ''}
                  {t.reference ? <div className="muted mono">{t.reference}</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </CursorTable>
    </>
  );
}
