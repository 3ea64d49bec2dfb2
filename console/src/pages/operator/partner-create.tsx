import { useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { formatMoney, parseMoney } from '../../format.ts';
import { CopyButton, ErrorNotice, Field, Notice, useAction } from '../../components/ui.tsx';
import type { OpPartner, OpTier } from './operator-types.ts';

interface Created {
  partner: OpPartner;
  api_key: { key_id: string; access_code: string; secret_key: string };
  user: { id: string; email: string } | null;
}

const CURRENCIES = ['USD', 'EUR', 'GBP', 'AUD', 'CAD', 'SGD', 'JPY', 'THB'];

/** New partner: account, first console login and an optional initial deposit, created together. */
export function CreatePartnerForm({ tiers, onCreated, onClose }: { tiers: OpTier[]; onCreated: () => void; onClose: () => void }) {
  const [form, setForm] = useState({ name: '', environment: 'live', currency: 'USD', tier: 'standard', deposit: '', email: '', password: '' });
  const [depositError, setDepositError] = useState<string | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: event.target.value }));
  const create = useAction(async () => {
    const deposit = form.deposit.trim() ? parseMoney(form.deposit) : 0;
    if (deposit === null) {
      setDepositError('Enter an amount such as 500 or 500.00.');
      return;
    }
    setDepositError(null);
    const result = await api.post<Created>('/console/api/operator/partners', {
      name: form.name,
      environment: form.environment,
      currency: form.currency,
      price_tier_id: form.tier,
      initial_deposit: deposit,
      user: { email: form.email, password: form.password },
    });
    setCreated(result);
    onCreated();
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create.run();
  };

  if (created) {
    return (
      <div className="stack">
        <Notice kind="success">
          Created <strong>{created.partner.name}</strong> ({created.partner.environment}, {created.partner.currency}) with a balance of {formatMoney(created.partner.balance, created.partner.currency)}
          {created.user ? (
            <>
              . <strong>{created.user.email}</strong> can log in to the console now.
            </>
          ) : (
            '.'
          )}
        </Notice>
        <p>
          Its first API key is shown <strong>once</strong>: send it to the partner over a safe channel (they can also create keys themselves in the console).
        </p>
        <div>
          <div className="small muted">AccessCode</div>
          <div className="secret">{created.api_key.access_code}</div>
          <CopyButton text={created.api_key.access_code} label="Copy AccessCode" />
        </div>
        <div>
          <div className="small muted">SecretKey</div>
          <div className="secret">{created.api_key.secret_key}</div>
          <CopyButton text={created.api_key.secret_key} label="Copy SecretKey" />
        </div>
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Done
        </button>
      </div>
    );
  }

  return (
    <form onSubmit={submit}>
      <ErrorNotice error={create.error} />
      <Field label="Company name">{(id) => <input id={id} required maxLength={200} value={form.name} onChange={set('name')} autoComplete="organization" />}</Field>
      <div className="grid-2">
        <Field label="Environment" hint="Live partners get real profiles; their deposits need your approval.">
          {(id) => (
            <select id={id} value={form.environment} onChange={set('environment')}>
              <option value="live">Live</option>
              <option value="sandbox">Sandbox</option>
            </select>
          )}
        </Field>
        <Field label="Currency">
          {(id) => (
            <select id={id} value={form.currency} onChange={set('currency')}>
              {CURRENCIES.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Price tier">
          {(id) => (
            <select id={id} value={form.tier} onChange={set('tier')}>
              {(tiers.length ? tiers : [{ id: 'standard', name: 'Standard', price_factor_bps: 10_000, min_monthly_volume: 0 }]).map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name} ({(t.price_factor_bps / 100).toFixed(2)} % of list)
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Initial deposit" hint={`Optional, in ${form.currency}.`} error={depositError}>
          {(id) => <input id={id} inputMode="decimal" placeholder="0.00" value={form.deposit} onChange={set('deposit')} />}
        </Field>
      </div>
      <h3 className="op-section-title">First console login</h3>
      <Field label="Login email">{(id) => <input id={id} type="email" required autoComplete="off" value={form.email} onChange={set('email')} />}</Field>
      <Field label="Initial password" hint="At least 10 characters; the user can change it after logging in.">
        {(id) => <input id={id} type="password" required minLength={10} autoComplete="new-password" value={form.password} onChange={set('password')} />}
      </Field>
      <button type="submit" className="btn btn-primary" disabled={create.busy}>
        {create.busy ? 'Creating…' : 'Create partner'}
      </button>
    </form>
  );
}
