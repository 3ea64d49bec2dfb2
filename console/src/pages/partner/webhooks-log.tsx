import { useState } from 'react';
import { api, newIdempotencyKey, query } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { Card, ErrorNotice, Field, Loading, Modal, StatusBadge, useAction, useAsync } from '../../components/ui.tsx';
import { CursorTable, useCursorList } from '../../components/lists.tsx';
import type { WebhookDelivery, WebhookDeliveryStatus } from '../../v1-types.ts';
import type { WebhookDeliveryDetail } from './webhooks-types.ts';

const STATUSES: WebhookDeliveryStatus[] = ['pending', 'delivered', 'failed', 'dead'];

/** Webhook deliveries, newest first, with a status filter, details (payload, attempts) and re-send. */
export function DeliveryLog({ version }: { version: number }) {
  const [status, setStatus] = useState<WebhookDeliveryStatus | ''>('');
  const [open, setOpen] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const list = useCursorList<WebhookDelivery>(`/v1/webhook-deliveries${query({ status: status || undefined, limit: 20 })}`, [version]);

  const resend = useAction(async (id: string) => api.post<WebhookDelivery>(`/v1/webhook-deliveries/${encodeURIComponent(id)}/resend`, {}, { idempotencyKey: newIdempotencyKey() }));
  async function onResend(d: WebhookDelivery) {
    setNotice(null);
    const result = await resend.run(d.id);
    if (result) {
      setNotice(`${d.event_type} is queued to be sent again.`);
      list.setRows((prev) => prev.map((r) => (r.id === result.id ? result : r)));
    }
  }

  return (
    <Card
      title="Delivery log"
      actions={
        <button type="button" className="btn btn-small" onClick={list.reload} disabled={list.loading}>
          Refresh
        </button>
      }
    >
      <div className="filters">
        <Field label="Status">
          {(id) => (
            <select id={id} value={status} onChange={(e) => setStatus(e.target.value as WebhookDeliveryStatus | '')}>
              <option value="">All</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <ErrorNotice error={list.error ?? resend.error} />
      {notice ? (
        <p className="notice notice-success" role="status">
          {notice}
        </p>
      ) : null}
      <CursorTable list={list} empty={`No deliveries${status ? ` with status ${status}` : ' yet: they appear here when your eSIMs change'}.`}>
        <table className="webhooks-log">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col" className="hide-mobile">
                Attempts
              </th>
              <th scope="col" className="hide-mobile">
                Last answer
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map((d) => (
              <tr key={d.id} data-delivery-id={d.id}>
                <td className="small">{formatTime(d.created_at)}</td>
                <td className="mono">{d.event_type}</td>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td className="hide-mobile">{d.attempts}</td>
                <td className="small hide-mobile">{d.last_status_code !== null ? `HTTP ${d.last_status_code}` : (d.last_error ?? '—')}</td>
                <td>
                  <div className="row">
                    <button type="button" className="btn btn-small" onClick={() => setOpen(d.id)} aria-label={`Details of ${d.event_type} delivery ${d.id}`}>
                      Details
                    </button>
                    <button type="button" className="btn btn-small" onClick={() => void onResend(d)} disabled={resend.busy} aria-label={`Re-send ${d.event_type} delivery ${d.id}`}>
                      Re-send
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </CursorTable>
      <Modal open={open !== null} title="Webhook delivery" onClose={() => setOpen(null)}>
        {open ? <DeliveryDetail id={open} /> : null}
      </Modal>
    </Card>
  );
}

function DeliveryDetail({ id }: { id: string }) {
  const { data, error, loading } = useAsync((signal) => api.get<WebhookDeliveryDetail>(`/console/api/webhook-deliveries/${encodeURIComponent(id)}`, { signal }), [id]);
  if (error) return <ErrorNotice error={error} />;
  if (!data) return loading ? <Loading /> : null;
  return (
    <div className="stack">
      <dl className="webhooks-facts">
        <dt>Event</dt>
        <dd className="mono">{data.event_type}</dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={data.status} />
          {data.next_attempt_at && data.status !== 'delivered' ? <span className="small muted"> next attempt {formatTime(data.next_attempt_at)}</span> : null}
        </dd>
        <dt>Occurred</dt>
        <dd>{formatTime(data.occurred_at)}</dd>
        <dt>Event id</dt>
        <dd className="mono">{data.event_id}</dd>
        <dt>URL</dt>
        <dd className="mono">{data.url}</dd>
      </dl>
      <div>
        <h3 className="webhooks-subhead">Payload</h3>
        <pre className="webhooks-pre">{JSON.stringify(data.payload, null, 2)}</pre>
      </div>
      <div>
        <h3 className="webhooks-subhead">Attempts ({data.attempts})</h3>
        {data.attempt_log.length === 0 ? (
          <p className="muted">Not attempted yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Time</th>
                  <th scope="col">Answer</th>
                  <th scope="col" className="num">
                    ms
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.attempt_log.map((a) => (
                  <tr key={a.attempt_no}>
                    <td>{a.attempt_no}</td>
                    <td className="small">{formatTime(a.started_at)}</td>
                    <td className="small">
                      {a.status_code !== null ? `HTTP ${a.status_code}` : (a.error ?? '—')}
                      {a.response_excerpt ? <div className="muted mono">{a.response_excerpt.slice(0, 200)}</div> : null}
                    </td>
                    <td className="num">{a.latency_ms}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </div>
  );
}
