import { useCallback, useState } from 'react';
import { api, query } from '../../api.ts';
import { formatMoney, formatTime } from '../../format.ts';
import { usePartner } from '../../session.tsx';
import { Card, ErrorNotice, PageHeader, Stat, StatusBadge, useAsync } from '../../components/ui.tsx';
import { CursorTable, useCursorList } from '../../components/lists.tsx';
import { DepositForm } from './billing-deposit.tsx';
import { LedgerHistory } from './billing-ledger.tsx';
import type { Balance } from '../../v1-types.ts';
import type { DepositRequest } from './billing-types.ts';
import './billing-page.css';

export function BillingPage() {
  const partner = usePartner();
  const sandbox = partner.environment === 'sandbox';
  const [version, setVersion] = useState(0);
  const balance = useAsync((signal) => api.get<Balance>('/v1/balance', { signal }), [version]);
  const bump = useCallback(() => setVersion((v) => v + 1), []);

  return (
    <>
      <PageHeader title="Billing" subtitle={sandbox ? 'Sandbox account: deposits are simulated test money.' : 'Live account: deposits are credited when an operator confirms your transfer.'} />
      <div className="grid-2">
        <div>
          <ErrorNotice error={balance.error} />
          <Stat label="Balance" value={balance.data ? formatMoney(balance.data.available, balance.data.currency) : '…'} hint={balance.data ? `Updated ${formatTime(balance.data.updated_at)}` : undefined} />
        </div>
        <Card title={sandbox ? 'Make an external deposit' : 'Request a deposit'}>
          <DepositForm onDone={bump} />
        </Card>
      </div>
      <DepositRequests version={version} />
      <Card title="Ledger history">
        <LedgerHistory version={version} />
      </Card>
    </>
  );
}

/** The partner's own deposit requests, newest first; pending ones stand out. */
function DepositRequests({ version }: { version: number }) {
  const partner = usePartner();
  const list = useCursorList<DepositRequest>(`/console/api/deposits${query({ limit: 10 })}`, [version]);
  const { rows, error } = list;

  const pending = rows.filter((d) => d.status === 'pending');
  if (partner.environment === 'sandbox' && rows.length === 0 && !error) return null;
  return (
    <Card title="Deposit requests">
      <ErrorNotice error={error} />
      {pending.length ? (
        <p className="notice notice-warning">
          {pending.length} deposit request{pending.length === 1 ? ' is' : 's are'} waiting for the operator: {pending.map((d) => formatMoney(d.amount, d.currency)).join(', ')}.
        </p>
      ) : null}
      <CursorTable list={list} empty="No deposit requests yet.">
        <table>
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col" className="num">
                Amount
              </th>
              <th scope="col">Reference</th>
              <th scope="col">Status</th>
              <th scope="col">Decided</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id}>
                <td className="small">{formatTime(d.created_at)}</td>
                <td className="num">{formatMoney(d.amount, d.currency)}</td>
                <td className="small">{d.reference ?? '—'}</td>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td className="small">{formatTime(d.decided_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </CursorTable>
    </Card>
  );
}
