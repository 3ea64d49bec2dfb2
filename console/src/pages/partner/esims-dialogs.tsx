import { useState, type FormEvent } from 'react';
import { api, newIdempotencyKey, query } from '../../api.ts';
import { formatMoney, formatTime } from '../../format.ts';
import { Card, Empty, ErrorNotice, Field, Loading, Modal, useAction, useAsync } from '../../components/ui.tsx';
import type { Esim, Package, Page } from '../../v1-types.ts';
import { validityLabel, volumeLabel } from './esims-format.ts';

/** Picks a top-up that fits the eSIM and buys it (one Idempotency-Key per confirmed top-up). */
export function TopupDialog({ open, esim, onClose, onDone }: { open: boolean; esim: Esim; onClose: () => void; onDone: (esim: Esim) => void }) {
  return (
    <Modal open={open} title="Top up" onClose={onClose}>
      {open ? <TopupForm esim={esim} onClose={onClose} onDone={onDone} /> : null}
    </Modal>
  );
}

function TopupForm({ esim, onClose, onDone }: { esim: Esim; onClose: () => void; onDone: (esim: Esim) => void }) {
  const [choice, setChoice] = useState('');
  const [key] = useState(newIdempotencyKey);
  const topups = useAsync((signal) => api.get<Page<Package>>(`/v1/packages${query({ type: 'topup', topup_for_esim: esim.id, limit: 100 })}`, { signal }), [esim.id]);
  const buy = useAction(async () => {
    const result = await api.post<{ esim: Esim }>(`/v1/esims/${encodeURIComponent(esim.id)}/topups`, { package_id: choice }, { idempotencyKey: key });
    onDone(result.esim);
    onClose();
    return result;
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (choice && !buy.busy) void buy.run();
  };
  if (topups.loading) return <Loading label="Finding top-ups that fit…" />;
  if (topups.error) return <ErrorNotice error={topups.error} />;
  const list = topups.data?.data ?? [];
  if (!list.length) return <Empty>No top-up fits this eSIM's plan.</Empty>;
  const picked = list.find((p) => p.id === choice);
  return (
    <form onSubmit={submit} className="stack">
      <Field label="Top-up package">
        {(id) => (
          <select id={id} required value={choice} onChange={(e) => setChoice(e.target.value)}>
            <option value="">Choose a top-up…</option>
            {list.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} — {volumeLabel(p)}, {validityLabel(p)} — {formatMoney(p.price, p.currency)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {picked ? <p className="muted small">Adds {volumeLabel(picked)} and {validityLabel(picked)} of validity; charged to your balance now.</p> : null}
      <ErrorNotice error={buy.error} />
      <div className="action-bar">
        <button type="submit" className="btn btn-primary" disabled={!choice || buy.busy}>
          {buy.busy ? 'Topping up…' : 'Confirm'}
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Back
        </button>
      </div>
    </form>
  );
}

/** Sends an SMS to the device (at most 500 characters). */
export function SmsDialog({ open, esim, onClose, onSent }: { open: boolean; esim: Esim; onClose: () => void; onSent: () => void }) {
  const [message, setMessage] = useState('');
  const send = useAction(async () => {
    const sent = await api.post(`/v1/esims/${encodeURIComponent(esim.id)}/sms`, { message }, { idempotencyKey: newIdempotencyKey() });
    setMessage('');
    onSent();
    onClose();
    return sent;
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (message.trim() && !send.busy) void send.run();
  };
  return (
    <Modal open={open} title="Send SMS" onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <Field label="Message" hint={`${[...message].length} of 500 characters`}>
          {(id) => <textarea id={id} required maxLength={500} value={message} onChange={(e) => setMessage(e.target.value)} />}
        </Field>
        <ErrorNotice error={send.error} />
        <div className="action-bar">
          <button type="submit" className="btn btn-primary" disabled={!message.trim() || send.busy}>
            {send.busy ? 'Sending…' : 'Send'}
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Back
          </button>
        </div>
      </form>
    </Modal>
  );
}

interface Sms {
  id: string;
  direction: 'mt' | 'mo';
  sender: string | null;
  body: string;
  created_at: string;
}

/** The text messages this eSIM's device received and sent, newest first; `version` re-reads after a send. */
export function SmsHistory({ esim, version }: { esim: Esim; version: number }) {
  const list = useAsync((signal) => api.get<Page<Sms>>(`/v1/esims/${encodeURIComponent(esim.id)}/sms${query({ limit: 20 })}`, { signal }), [esim.id, version]);
  return (
    <Card title="Text messages">
      <ErrorNotice error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && !list.data.data.length ? <Empty>No SMS yet. Send one with Send SMS.</Empty> : null}
      {list.data?.data.length ? (
        <ul className="sms-list" aria-label={`Text messages of ${esim.iccid}`}>
          {list.data.data.map((m) => (
            <li key={m.id}>
              <div className="small muted">
                {m.direction === 'mt' ? 'To the device' : `From the device${m.sender ? ` (${m.sender})` : ''}`} · {formatTime(m.created_at)}
              </div>
              <div className="sms-body">{m.body}</div>
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}
