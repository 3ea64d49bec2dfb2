import { useCallback, useEffect, useRef, useState } from 'react';
import { Link } from 'wouter';
import { api, newIdempotencyKey, query } from '../../api.ts';
import { formatBytes, formatTime } from '../../format.ts';
import { Card, ErrorNotice, Loading, Notice, PageHeader, StatusBadge, UsageBar, useAsync } from '../../components/ui.tsx';
import { usePartner } from '../../session.tsx';
import type { Bundle, Esim } from '../../v1-types.ts';
import type { EsimTimeline } from './esims-types.ts';
import { allowedActions, usageOf, usageText, validityLabel } from './esims-format.ts';
import { InstallCodes, useBrandedQr } from './esims-install-card.tsx';
import { ConfirmDialog } from '../../components/confirm-dialog.tsx';
import { SmsDialog, SmsHistory, TopupDialog } from './esims-dialogs.tsx';
import { SandboxControls } from './esims-sandbox.tsx';
import { Timeline, WebhookHistory } from './esims-timeline.tsx';
import './esims-pages.css';

type StateAction = 'cancel' | 'suspend' | 'resume' | 'revoke';

const STATE_ACTIONS: Array<{ action: StateAction; label: string; title: string; danger?: boolean; text: string }> = [
  { action: 'cancel', label: 'Cancel eSIM', title: 'Cancel this eSIM?', danger: true, text: 'It has never been installed: it is closed for good and its full price goes back to your balance.' },
  { action: 'suspend', label: 'Suspend', title: 'Suspend this eSIM?', text: 'It stops working until you resume it. Validity keeps running.' },
  { action: 'resume', label: 'Resume', title: 'Resume this eSIM?', text: 'It works again as before the suspension.' },
  { action: 'revoke', label: 'Revoke', title: 'Revoke this eSIM?', danger: true, text: 'It stops working at once, for good. Revoked eSIMs are not refunded.' },
];

/** While a webhook is still being delivered the timeline is re-read this often, at most this many times. */
const WEBHOOK_POLL_MS = 1500;
const WEBHOOK_POLLS = 20;

const CURRENT = ['active', 'processing'];
const QUEUED = ['queued'];

export function EsimDetailPage({ id }: { id: string }) {
  const partner = usePartner();
  const esim = useAsync((signal) => api.get<Esim>(`/v1/esims/${encodeURIComponent(id)}`, { signal }), [id]);
  const timeline = useAsync((signal) => api.get<EsimTimeline>(`/console/api/esims/${encodeURIComponent(id)}/timeline`, { signal }), [id]);
  const [current, setCurrent] = useState<Esim | null>(null);
  const branded = useBrandedQr();
  const [dialog, setDialog] = useState<StateAction | 'topup' | 'sms' | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [smsVersion, setSmsVersion] = useState(0);
  const polls = useRef(0);

  useEffect(() => {
    if (esim.data) setCurrent(esim.data);
  }, [esim.data]);

  const reloadEsim = esim.reload;
  const reloadTimeline = timeline.reload;
  const refresh = useCallback(() => {
    polls.current = 0;
    reloadEsim();
    reloadTimeline();
  }, [reloadEsim, reloadTimeline]);

  // Webhooks go out just after the change: follow the pending ones until they are delivered (or given up on).
  const pending = timeline.data?.webhooks.some((w) => w.status === 'pending') ?? false;
  useEffect(() => {
    if (!pending || timeline.loading || polls.current >= WEBHOOK_POLLS) return;
    const timer = setTimeout(() => {
      polls.current += 1;
      reloadTimeline();
    }, WEBHOOK_POLL_MS);
    return () => clearTimeout(timer);
  }, [pending, timeline.loading, timeline.data, reloadTimeline]);

  if (!current) {
    return (
      <>
        <PageHeader title="eSIM" actions={<Link href="/esims">All eSIMs</Link>} />
        {esim.error ? <ErrorNotice error={esim.error} /> : <Loading />}
      </>
    );
  }

  const can = allowedActions(current);
  const { used, total } = usageOf(current);
  const changeState = async (action: StateAction) => {
    const updated = await api.post<Esim>(`/v1/esims/${encodeURIComponent(current.id)}/${action}`, {}, { idempotencyKey: newIdempotencyKey() });
    setCurrent(updated);
    setDone(action === 'cancel' ? 'The eSIM is cancelled and its price refunded to your balance.' : `Done: the eSIM is now ${updated.status}.`);
    refresh();
    return true;
  };
  const enabled: Record<StateAction, boolean> = { cancel: can.cancel, suspend: can.suspend, resume: can.resume, revoke: can.revoke };

  return (
    <>
      <PageHeader
        title={`eSIM ${current.iccid}`}
        subtitle={
          <span className="row">
            <StatusBadge status={current.status} /> <span>SM-DP+ {current.smdp_status}</span>
          </span>
        }
        actions={<Link href="/esims">All eSIMs</Link>}
      />
      <ErrorNotice error={esim.error} />
      <div aria-live="polite">{done ? <Notice kind="success">{done}</Notice> : null}</div>

      <div className="grid-2">
        <Card title="Usage">
          <UsageBar usedBytes={used} totalBytes={total} label={`Data used by ${current.iccid}`} />
          <p data-testid="usage-text">{usageText(current)}</p>
          <dl className="facts-list">
            <dt>Activated</dt>
            <dd>{formatTime(current.activated_at)}</dd>
            <dt>{current.activated_at ? 'Expires' : 'Install by'}</dt>
            <dd>{formatTime(current.expires_at ?? current.install_by)}</dd>
          </dl>
        </Card>
        <Card title="Actions">
          <div className="action-bar">
            {STATE_ACTIONS.map((a) => (
              <button key={a.action} type="button" className={`btn ${a.danger ? 'btn-danger' : ''}`} disabled={!enabled[a.action]} onClick={() => setDialog(a.action)}>
                {a.label}
              </button>
            ))}
            <button type="button" className="btn" disabled={!can.topup} onClick={() => setDialog('topup')}>
              Top up
            </button>
            <button type="button" className="btn" disabled={!can.sms} onClick={() => setDialog('sms')} title={current.sms_supported ? undefined : "This eSIM's plan has no SMS"}>
              Send SMS
            </button>
          </div>
          <p className="muted small">Buttons the eSIM's current state does not allow are switched off. Cancel only works before installation.</p>
        </Card>
      </div>

      {partner.environment === 'sandbox' ? <SandboxControls esim={current} onChanged={refresh} /> : null}

      <div className="grid-2">
        <Card title="Identifiers">
          <dl className="facts-list">
            <dt>ICCID</dt>
            <dd className="mono">{current.iccid}</dd>
            <dt>eSIM id</dt>
            <dd className="mono">{current.id}</dd>
            <dt>esimTranNo</dt>
            <dd className="mono">{current.esim_tran_no}</dd>
            <dt>Order</dt>
            <dd>
              <Link href={`/buy${query({ order: current.order_id })}`}>{current.order_no}</Link>
            </dd>
            <dt>Package</dt>
            <dd className="mono">{current.package_id}</dd>
            <dt>EID</dt>
            <dd className="mono">{current.eid ?? '—'}</dd>
            <dt>IMSI</dt>
            <dd className="mono">{current.imsi ?? '—'}</dd>
            <dt>MSISDN</dt>
            <dd className="mono">{current.msisdn ?? '—'}</dd>
            <dt>APN</dt>
            <dd className="mono">{current.apn ?? '—'}</dd>
            <dt>Bought</dt>
            <dd>{formatTime(current.created_at)}</dd>
          </dl>
        </Card>
        <InstallCodes esim={current} heading={false} branded={branded} />
      </div>

      <Bundles bundles={current.bundles} />
      {current.sms_supported ? <SmsHistory esim={current} version={smsVersion} /> : null}

      <div className="grid-2">
        <Timeline timeline={timeline.data} error={timeline.error} />
        <WebhookHistory timeline={timeline.data} />
      </div>

      {STATE_ACTIONS.map((a) => (
        <ConfirmDialog key={a.action} open={dialog === a.action} title={a.title} danger={a.danger} busyLabel="Working…" onConfirm={() => changeState(a.action)} onClose={() => setDialog(null)}>
          <p>
            {a.text} <span className="mono small">{current.iccid}</span>
          </p>
        </ConfirmDialog>
      ))}
      <TopupDialog
        open={dialog === 'topup'}
        esim={current}
        onClose={() => setDialog(null)}
        onDone={(updated) => {
          setCurrent(updated);
          setDone('Topped up: the new bundle is on the eSIM.');
          refresh();
        }}
      />
      <SmsDialog
        open={dialog === 'sms'}
        esim={current}
        onClose={() => setDialog(null)}
        onSent={() => {
          setDone('SMS sent.');
          setSmsVersion((v) => v + 1);
          refresh();
        }}
      />
    </>
  );
}

function Bundles({ bundles }: { bundles: Bundle[] }) {
  const groups = [
    { title: 'Current', rows: bundles.filter((b) => CURRENT.includes(b.state)) },
    { title: 'Queued', rows: bundles.filter((b) => QUEUED.includes(b.state)) },
    { title: 'Used', rows: bundles.filter((b) => !CURRENT.includes(b.state) && !QUEUED.includes(b.state)) },
  ];
  return (
    <Card title="Bundles">
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Bundles on this eSIM: current, queued and used</caption>
          <thead>
            <tr>
              <th scope="col">Package</th>
              <th scope="col">State</th>
              <th scope="col">Data</th>
              <th scope="col" className="hide-mobile">
                Validity
              </th>
              <th scope="col">Expires</th>
            </tr>
          </thead>
          {groups.map((g) =>
            g.rows.length ? (
              <tbody key={g.title}>
                <tr>
                  <th scope="rowgroup" colSpan={5}>
                    {g.title}
                  </th>
                </tr>
                {g.rows.map((b) => (
                  <tr key={b.id}>
                    <td>
                      <span className="mono small">{b.package_id}</span> <span className="badge badge-muted">{b.kind}</span>
                    </td>
                    <td>
                      <StatusBadge status={b.state} />
                    </td>
                    <td>
                      {formatBytes(b.used_bytes)} of {formatBytes(b.volume_bytes)}
                    </td>
                    <td className="hide-mobile">{validityLabel({ duration: b.duration, duration_unit: b.duration_unit, day_pass: false })}</td>
                    <td className="small">{formatTime(b.expires_at)}</td>
                  </tr>
                ))}
              </tbody>
            ) : null,
          )}
        </table>
      </div>
    </Card>
  );
}
