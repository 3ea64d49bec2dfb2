import { useState, type FormEvent } from 'react';
import { newIdempotencyKey, api } from '../../api.ts';
import { formatMoney, parseMoney } from '../../format.ts';
import { usePartner } from '../../session.tsx';
import { ErrorNotice, Field, Notice, useAction } from '../../components/ui.tsx';
import type { DepositRequest } from './billing-types.ts';

/** Sandbox: a simulated external deposit, credited at once. Live: a request the operator approves. */
export function DepositForm({ onDone }: { onDone: (deposit: DepositRequest) => void }) {
  const partner = usePartner();
  const sandbox = partner.environment === 'sandbox';
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [done, setDone] = useState<DepositRequest | null>(null);
  const submit = useAction(async (minor: number) => api.post<DepositRequest>('/console/api/deposits', { amount: minor, ...(reference.trim() ? { reference: reference.trim() } : {}) }, { idempotencyKey: newIdempotencyKey() }));

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    const minor = parseMoney(amount);
    if (minor === null || minor <= 0) {
      setInvalid('Enter an amount greater than zero, such as 100 or 250.50');
      return;
    }
    setInvalid(null);
    const deposit = await submit.run(minor);
    if (deposit) {
      setDone(deposit);
      setAmount('');
      setReference('');
      onDone(deposit);
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate>
      <Field label={`Amount (${partner.currency})`} error={invalid} hint={sandbox ? 'Test money: credited to your sandbox balance at once.' : 'Send the bank transfer first; an operator credits it when it arrives.'}>
        {(id) => <input id={id} name="amount" inputMode="decimal" autoComplete="off" placeholder="100.00" value={amount} onChange={(e) => setAmount(e.target.value)} />}
      </Field>
      <Field label="Reference (optional)" hint={sandbox ? undefined : 'The reference on your bank transfer, so it can be matched.'}>
        {(id) => <input id={id} name="reference" maxLength={200} value={reference} onChange={(e) => setReference(e.target.value)} />}
      </Field>
      <ErrorNotice error={submit.error} />
      {done ? (
        done.status === 'approved' ? (
          <Notice kind="success">{formatMoney(done.amount, done.currency)} was credited to your balance.</Notice>
        ) : (
          <Notice kind="info">Your deposit request for {formatMoney(done.amount, done.currency)} is pending: the operator credits it once the transfer arrives.</Notice>
        )
      ) : null}
      <button type="submit" className="btn btn-primary" disabled={submit.busy}>
        {submit.busy ? 'Sending…' : sandbox ? 'Make external deposit' : 'Request deposit'}
      </button>
    </form>
  );
}
