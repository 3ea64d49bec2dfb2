import { formatTime } from '../../format.ts';
import { Card, Empty, ErrorNotice, StatusBadge } from '../../components/ui.tsx';
import type { EsimTimeline } from './esims-types.ts';

const FIELD_NAMES = { status: 'Status', smdp_status: 'SM-DP+' } as const;

/** The eSIM's life, newest first, each event with the status it changed and its webhook delivery. */
export function Timeline({ timeline, error }: { timeline: EsimTimeline | undefined; error: Error | null }) {
  return (
    <Card title="Lifecycle timeline">
      <ErrorNotice error={error} />
      {timeline && !timeline.entries.length ? <Empty>Nothing has happened to this eSIM yet.</Empty> : null}
      {timeline?.entries.length ? (
        <ol className="timeline" aria-label="Lifecycle events, newest first">
          {timeline.entries.map((entry) => (
            <li key={entry.id}>
              <time dateTime={entry.at}>{formatTime(entry.at)}</time>
              <div>
                <strong>{entry.summary}</strong> <span className="event-type">{entry.type}</span>
              </div>
              {entry.changes.length ? (
                <div className="small">
                  {entry.changes.map((c) => (
                    <span key={c.field} className="row" style={{ display: 'inline-flex', marginRight: '0.75rem' }}>
                      {FIELD_NAMES[c.field]}: {c.from ? <StatusBadge status={c.from} /> : <span className="muted">?</span>} → <StatusBadge status={c.to} />
                    </span>
                  ))}
                </div>
              ) : null}
              {entry.webhook ? (
                <div className="small muted">
                  Webhook <StatusBadge status={entry.webhook.status} /> {entry.webhook.attempts} attempt{entry.webhook.attempts === 1 ? '' : 's'}
                  {entry.webhook.last_status_code !== null ? ` · HTTP ${entry.webhook.last_status_code}` : ''}
                </div>
              ) : null}
            </li>
          ))}
        </ol>
      ) : null}
    </Card>
  );
}

/** Every webhook delivery about this eSIM, with each attempt. */
export function WebhookHistory({ timeline }: { timeline: EsimTimeline | undefined }) {
  if (!timeline) return null;
  return (
    <Card title="Webhook history">
      {!timeline.webhooks.length ? (
        <Empty>No webhooks were sent for this eSIM. Set an endpoint under Webhooks to be told of every change.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Webhook deliveries for this eSIM, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Delivery</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col" className="hide-mobile">
                  Last answer
                </th>
                <th scope="col" className="hide-mobile">
                  Queued
                </th>
              </tr>
            </thead>
            <tbody>
              {timeline.webhooks.map((w) => (
                <tr key={w.id}>
                  <td>
                    <span className="mono small">{w.event_type}</span>
                    {w.attempt_log.length ? (
                      <details>
                        <summary className="small">Attempts</summary>
                        <ul className="small">
                          {w.attempt_log.map((a) => (
                            <li key={a.attempt_no}>
                              #{a.attempt_no} {formatTime(a.started_at)} — {a.status_code !== null ? `HTTP ${a.status_code}` : (a.error ?? 'no answer')} ({a.latency_ms} ms)
                            </li>
                          ))}
                        </ul>
                      </details>
                    ) : null}
                  </td>
                  <td>
                    <StatusBadge status={w.status} />
                    {w.next_attempt_at ? <div className="small muted">next try {formatTime(w.next_attempt_at)}</div> : null}
                  </td>
                  <td className="num">{w.attempts}</td>
                  <td className="hide-mobile small">{w.last_status_code !== null ? `HTTP ${w.last_status_code}` : (w.last_error ?? '—')}</td>
                  <td className="hide-mobile small">{formatTime(w.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
