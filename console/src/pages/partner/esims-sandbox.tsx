import { useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { formatBytes, formatTime } from '../../format.ts';
import { Card, ErrorNotice, Field, Notice, useAction, useAsync } from '../../components/ui.tsx';
import type { Esim } from '../../v1-types.ts';
import { allowedActions } from './esims-format.ts';

const MB = 1024 * 1024;
const DAY_MS = 86_400_000;

interface Clock {
  now: string;
  offsetMs: number;
}

/**
 * The simulated device and network of a sandbox eSIM (/sandbox/*): install it, switch it on and off, use
 * data, and move the partner's clock. `onChanged` refreshes the eSIM and its timeline after each step.
 */
export function SandboxControls({ esim, onChanged }: { esim: Esim; onChanged: () => void }) {
  const [mbText, setMbText] = useState('100');
  const [daysText, setDaysText] = useState('1');
  const [hoursText, setHoursText] = useState('0');
  const [done, setDone] = useState<string | null>(null);
  const clock = useAsync((signal) => api.get<Clock>('/sandbox/clock', { signal }), []);
  const can = allowedActions(esim);
  const ref = encodeURIComponent(esim.iccid);

  const act = useAction(async (work: () => Promise<string>) => {
    setDone(null);
    try {
      setDone(await work());
    } finally {
      onChanged();
      clock.reload();
    }
    return true;
  });

  const install = () =>
    act.run(async () => {
      await api.post(`/sandbox/esims/${ref}/install`);
      // A phone switches a new profile on straight away; the separate Enable button is for after Disable.
      await api.post(`/sandbox/esims/${ref}/enable`);
      return 'Installed on a simulated phone and enabled.';
    });
  const device = (kind: 'enable' | 'disable' | 'delete') =>
    act.run(async () => {
      await api.post(`/sandbox/esims/${ref}/${kind}`);
      return kind === 'enable' ? 'Profile enabled.' : kind === 'disable' ? 'Profile disabled.' : 'Profile deleted from the phone.';
    });

  const mb = Number(mbText);
  const mbError = Number.isFinite(mb) && mb > 0 && mb <= 1_000_000 ? null : 'Enter a number of megabytes greater than 0.';
  const useData = (event: FormEvent) => {
    event.preventDefault();
    if (mbError) return;
    void act.run(async () => {
      const answer = await api.post<{ grantedBytes: number }>(`/sandbox/esims/${ref}/usage`, { bytes: Math.max(1, Math.round(mb * MB)) });
      return `The network let ${formatBytes(answer.grantedBytes)} through.`;
    });
  };

  const days = Number(daysText);
  const hours = Number(hoursText);
  const clockError = Number.isFinite(days) && Number.isFinite(hours) && days >= 0 && hours >= 0 && days + hours > 0 ? null : 'Give days or hours greater than 0.';
  const advance = (event: FormEvent) => {
    event.preventDefault();
    if (clockError) return;
    void act.run(async () => {
      const answer = await api.post<{ now: string; transitions: number }>('/sandbox/clock/advance', { days, hours });
      return `The clock is now ${formatTime(answer.now)}; ${answer.transitions} change${answer.transitions === 1 ? '' : 's'} fell due.`;
    });
  };

  return (
    <Card title="Sandbox controls" className="sandbox-card">
      <p className="muted small">
        Drive a simulated phone and network. Partner clock:{' '}
        <strong data-testid="sandbox-clock">{clock.data ? formatTime(clock.data.now) : '…'}</strong>
        {clock.data && clock.data.offsetMs > 0 ? ` (${(clock.data.offsetMs / DAY_MS).toFixed(1)} days ahead of real time)` : ''}
      </p>
      <ErrorNotice error={clock.error} />
      <div className="action-bar">
        <button type="button" className="btn btn-primary" disabled={!can.install || act.busy} onClick={() => void install()}>
          Install
        </button>
        <button type="button" className="btn" disabled={!can.enable || act.busy} onClick={() => void device('enable')}>
          Enable
        </button>
        <button type="button" className="btn" disabled={!can.disable || act.busy} onClick={() => void device('disable')}>
          Disable
        </button>
      </div>
      <form className="inline-form" onSubmit={useData} style={{ marginTop: '0.85rem' }}>
        <Field label="Data to use (MB)" error={mbError}>
          {(id) => <input id={id} type="number" inputMode="decimal" min={0.001} step="any" value={mbText} onChange={(e) => setMbText(e.target.value)} />}
        </Field>
        <button type="submit" className="btn" disabled={!can.useData || act.busy || mbError !== null}>
          Use data
        </button>
      </form>
      <form className="inline-form" onSubmit={advance} style={{ marginTop: '0.85rem' }}>
        <Field label="Days to advance">{(id) => <input id={id} type="number" inputMode="decimal" min={0} step="any" value={daysText} onChange={(e) => setDaysText(e.target.value)} />}</Field>
        <Field label="Hours to advance">{(id) => <input id={id} type="number" inputMode="decimal" min={0} step="any" value={hoursText} onChange={(e) => setHoursText(e.target.value)} />}</Field>
        <button type="submit" className="btn" disabled={act.busy || clockError !== null}>
          Advance clock
        </button>
      </form>
      {clockError ? <p className="field-error">{clockError}</p> : null}
      <div aria-live="polite" style={{ marginTop: '0.85rem' }}>
        {done ? <Notice kind="success">{done}</Notice> : null}
      </div>
      <ErrorNotice error={act.error} />
    </Card>
  );
}
