import { useState } from 'react';
import { api, ApiError, query } from '../../api.ts';
import { formatMoney, formatTime } from '../../format.ts';
import { Card, ErrorNotice, Notice, PageHeader, StatusBadge, useAsync } from '../../components/ui.tsx';
import { ConfirmDialog } from '../../components/confirm-dialog.tsx';
import { CursorTable, RowsTable, useCursorList } from '../../components/lists.tsx';
import type { OpDeposit } from './operator-types.ts';
import './operator.css';

interface DepositPage {
  data: OpDeposit[];
  has_more: boolean;
  next_cursor: string | null;
}

export function OperatorDepositsPage() {
  const [version, setVersion] = useState(0);
  const [message, setMessage] = useState<{ kind: 'success' | 'warning'; text: string } | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState<OpDeposit | null>(null);
  const pending = useAsync((signal) => api.get<DepositPage>(`/console/api/operator/deposits${query({ status: 'pending', limit: 200 })}`, { signal }), [version]);

  const decide = async (deposit: OpDeposit, decision: 'approve' | 'reject') => {
    const amount = formatMoney(deposit.amount, deposit.currency);
    setBusyId(deposit.id);
    setActionError(null);
    setMessage(null);
    try {
      const result = await api.post<OpDeposit & { partner_balance: number }>(`/console/api/operator/deposits/${encodeURIComponent(deposit.id)}/${decision}`);
      setMessage({
        kind: 'success',
        text:
          decision === 'approve'
            ? `Approved ${amount} for ${deposit.partner_name ?? deposit.partner_id}: balance now ${formatMoney(result.partner_balance, deposit.currency)}.`
            : `Rejected ${amount} from ${deposit.partner_name ?? deposit.partner_id}.`,
      });
    } catch (error) {
      // Decided meanwhile (another operator, another tab): say so and show the current state.
      if (error instanceof ApiError && error.status === 409) setMessage({ kind: 'warning', text: error.message });
      else setActionError(error as Error);
    } finally {
      setBusyId(null);
      setVersion((v) => v + 1);
    }
  };

  const rows = pending.data?.data ?? [];
  return (
    <>
      <PageHeader title="Deposits" subtitle="Live partners' deposit requests: approve once the bank transfer has arrived." />
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
      <ErrorNotice error={actionError} />
      <Card title={`Waiting for a decision${rows.length ? ` (${rows.length})` : ''}`}>
        <ErrorNotice error={pending.error} />
        <RowsTable rows={pending.data ? rows : undefined} loading={pending.loading} empty="No deposit requests are waiting." className="op-scroll">
          {(rows) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Requested</th>
                  <th scope="col">Partner</th>
                  <th scope="col" className="num">
                    Amount
                  </th>
                  <th scope="col">Reference</th>
                  <th scope="col">
                    <span className="sr-only">Decision</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...rows].reverse().map((d) => (
                  <tr key={d.id}>
                    <td className="small">{formatTime(d.created_at)}</td>
                    <td>
                      <div>{d.partner_name ?? d.partner_id}</div>
                      <div className="mono small muted">{d.partner_id}</div>
                    </td>
                    <td className="num">{formatMoney(d.amount, d.currency)}</td>
                    <td className="small">{d.reference || '—'}</td>
                    <td>
                      <div className="op-actions">
                        <button
                          type="button"
                          className="btn btn-small btn-primary"
                          disabled={busyId !== null}
                          onClick={() => void decide(d, 'approve')}
                          aria-label={`Approve ${formatMoney(d.amount, d.currency)} from ${d.partner_name ?? d.partner_id}`}
                        >
                          {busyId === d.id ? 'Working…' : 'Approve'}
                        </button>
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          disabled={busyId !== null}
                          onClick={() => setRejecting(d)}
                          aria-label={`Reject ${formatMoney(d.amount, d.currency)} from ${d.partner_name ?? d.partner_id}`}
                        >
                          Reject
                        </button>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </RowsTable>
      </Card>
      <ConfirmDialog
        open={rejecting !== null}
        title="Reject this deposit?"
        danger
        confirmLabel="Reject deposit"
        cancelLabel="Cancel"
        // decide() shows its own outcome on the page, so the dialog always closes.
        onConfirm={async () => {
          if (rejecting) await decide(rejecting, 'reject');
          return true;
        }}
        onClose={() => setRejecting(null)}
      >
        {rejecting ? (
          <p>
            Reject the deposit of {formatMoney(rejecting.amount, rejecting.currency)} from {rejecting.partner_name ?? rejecting.partner_id}
            {rejecting.reference ? <span className="mono small"> ({rejecting.reference})</span> : null}? The partner's balance does not change.
          </p>
        ) : null}
      </ConfirmDialog>
      <DepositHistory version={version} />
    </>
  );
}

function DepositHistory({ version }: { version: number }) {
  const [status, setStatus] = useState('');
  const list = useCursorList<OpDeposit>(`/console/api/operator/deposits${query({ status, limit: 25 })}`, [version]);

  return (
    <Card
      title="History"
      actions={
        <div className="field" style={{ marginBottom: 0 }}>
          <label htmlFor="deposit-status" className="sr-only">
            Status
          </label>
          <select id="deposit-status" value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="">All statuses</option>
            <option value="pending">Pending</option>
            <option value="approved">Approved</option>
            <option value="rejected">Rejected</option>
          </select>
        </div>
      }
    >
      <ErrorNotice error={list.error} />
      <CursorTable list={list} empty="No deposits." className="op-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">Partner</th>
              <th scope="col" className="num">
                Amount
              </th>
              <th scope="col">Status</th>
              <th scope="col" className="hide-mobile">
                Decided
              </th>
              <th scope="col" className="hide-mobile">
                Reference
              </th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map((d) => (
              <tr key={d.id}>
                <td className="small">{formatTime(d.created_at)}</td>
                <td>
                  {d.partner_name ?? d.partner_id}
                  {d.environment === 'sandbox' ? <span className="muted small"> (sandbox, simulated)</span> : null}
                </td>
                <td className="num">{formatMoney(d.amount, d.currency)}</td>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td className="small hide-mobile">{formatTime(d.decided_at)}</td>
                <td className="small hide-mobile">{d.reference || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </CursorTable>
    </Card>
  );
}
