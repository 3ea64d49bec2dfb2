import { useState, type FormEvent } from 'react';
import { api, newIdempotencyKey } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { Card, CopyButton, ErrorNotice, Field, Loading, Notice, useAction, useAsync } from '../../components/ui.tsx';
import { ConfirmDialog } from '../../components/confirm-dialog.tsx';
import type { Page, WebhookEndpoint, WebhookSecret, WebhookTest } from '../../v1-types.ts';

/** The partner's webhook endpoint (at most one today): URL, signing secret, test send. */
export function EndpointCard({ onChange }: { onChange: () => void }) {
  const endpoints = useAsync((signal) => api.get<Page<WebhookEndpoint>>('/v1/webhook-endpoints', { signal }), []);
  const endpoint = endpoints.data?.data[0] ?? null;
  const [url, setUrl] = useState('');
  const [editing, setEditing] = useState(false);
  const [secret, setSecret] = useState<WebhookSecret | null>(null);
  const [test, setTest] = useState<WebhookTest | null>(null);
  const [confirm, setConfirm] = useState<'delete' | 'rotate' | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const save = useAction(async (target: string) =>
    endpoint
      ? api.patch<WebhookEndpoint>(`/v1/webhook-endpoints/${endpoint.id}`, { url: target }, { idempotencyKey: newIdempotencyKey() })
      : api.post<WebhookEndpoint>('/v1/webhook-endpoints', { url: target }, { idempotencyKey: newIdempotencyKey() }),
  );
  const reveal = useAction(async (id: string) => api.get<WebhookSecret>(`/v1/webhook-endpoints/${id}/secret`));
  const sendTest = useAction(async (id: string) => api.post<WebhookTest>(`/v1/webhook-endpoints/${id}/test`, {}, { idempotencyKey: newIdempotencyKey() }));
  async function onSave(event: FormEvent) {
    event.preventDefault();
    setMessage(null);
    const saved = await save.run(url.trim());
    if (!saved) return;
    if (saved.secret) setSecret({ object: 'webhook_secret', secret: saved.secret, previous_secret_valid_until: null });
    setMessage(endpoint ? 'The endpoint answered the test send and is saved.' : 'The endpoint answered the test send and is saved. Its signing secret is shown below.');
    setEditing(false);
    endpoints.reload();
    onChange();
  }

  // The dialog shows a failure and stays open.
  async function onConfirm() {
    if (!endpoint || !confirm) return undefined;
    const path = `/v1/webhook-endpoints/${endpoint.id}`;
    if (confirm === 'rotate') {
      setSecret(await api.post<WebhookSecret>(`${path}/rotate-secret`, {}, { idempotencyKey: newIdempotencyKey() }));
      setMessage('A new signing secret is in use. Deliveries carry both signatures until the old one expires.');
    } else {
      await api.delete(path, { idempotencyKey: newIdempotencyKey() });
      setSecret(null);
      setTest(null);
      setMessage('The webhook endpoint is deleted: no more events are sent.');
    }
    endpoints.reload();
    onChange();
    return true;
  }

  const form = (
    <form onSubmit={onSave}>
      <Field label="Endpoint URL" hint="esimhub POSTs a signed CHECK_HEALTH event to it first; it must answer with a 2xx status.">
        {(id) => <input id={id} name="url" type="url" inputMode="url" placeholder="https://example.com/esimhub/webhooks" required value={url} onChange={(e) => setUrl(e.target.value)} />}
      </Field>
      <ErrorNotice error={save.error} />
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={save.busy || !url.trim()}>
          {save.busy ? 'Testing and saving…' : endpoint ? 'Save URL' : 'Add endpoint'}
        </button>
        {endpoint ? (
          <button type="button" className="btn" onClick={() => setEditing(false)}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );

  return (
    <Card title="Endpoint">
      <ErrorNotice error={endpoints.error} />
      {message ? <Notice kind="success">{message}</Notice> : null}
      {endpoints.loading && !endpoints.data ? (
        <Loading />
      ) : !endpoint || editing ? (
        form
      ) : (
        <div className="stack">
          <div>
            <div className="muted small">URL</div>
            <div className="mono">{endpoint.url}</div>
          </div>
          <div className="row">
            <button
              type="button"
              className="btn"
              onClick={() => {
                setUrl(endpoint.url);
                setEditing(true);
                setMessage(null);
              }}
            >
              Edit URL
            </button>
            <button
              type="button"
              className="btn"
              disabled={sendTest.busy}
              onClick={async () => {
                setTest(null);
                const result = await sendTest.run(endpoint.id);
                if (result) setTest(result);
              }}
            >
              {sendTest.busy ? 'Sending…' : 'Send test'}
            </button>
            <button type="button" className="btn btn-danger" onClick={() => setConfirm('delete')}>
              Delete
            </button>
          </div>
          <ErrorNotice error={sendTest.error} />
          {test ? (
            <Notice kind={test.ok ? 'success' : 'warning'}>
              {test.ok ? 'Test delivered' : 'Test failed'}: {test.status_code !== null ? `HTTP ${test.status_code}` : test.error} in {test.latency_ms} ms.
            </Notice>
          ) : null}
          <div>
            <h3 className="webhooks-subhead">Signing secret</h3>
            <p className="muted small">Verify each delivery's webhook-signature header with it (Standard Webhooks).</p>
            {secret ? (
              <>
                <div className="secret" aria-label="Signing secret">
                  {secret.secret}
                </div>
                {secret.previous_secret_valid_until ? <p className="small muted">The previous secret also signs until {formatTime(secret.previous_secret_valid_until)}.</p> : null}
                <div className="row">
                  <CopyButton text={secret.secret} label="Copy secret" />
                  <button type="button" className="btn btn-small" onClick={() => setSecret(null)}>
                    Hide
                  </button>
                  <button type="button" className="btn btn-small" onClick={() => setConfirm('rotate')}>
                    Rotate secret
                  </button>
                </div>
              </>
            ) : (
              <div className="row">
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={reveal.busy}
                  onClick={async () => {
                    const result = await reveal.run(endpoint.id);
                    if (result) setSecret(result);
                  }}
                >
                  Reveal secret
                </button>
                <button type="button" className="btn btn-small" onClick={() => setConfirm('rotate')}>
                  Rotate secret
                </button>
              </div>
            )}
            <ErrorNotice error={reveal.error} />
          </div>
        </div>
      )}
      <ConfirmDialog
        open={confirm !== null}
        title={confirm === 'delete' ? 'Delete the webhook endpoint?' : 'Rotate the signing secret?'}
        danger={confirm === 'delete'}
        confirmLabel={confirm === 'delete' ? 'Delete endpoint' : 'Rotate secret'}
        cancelLabel="Cancel"
        onConfirm={onConfirm}
        onClose={() => setConfirm(null)}
      >
        <p>{confirm === 'delete' ? 'No more events are sent until you add an endpoint again.' : 'A new secret signs from now on; the old one keeps signing too for a while, so you can update your receiver.'}</p>
      </ConfirmDialog>
    </Card>
  );
}
