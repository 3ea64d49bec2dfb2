import { useState, type FormEvent } from 'react';
import { api, newIdempotencyKey } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { Card, ErrorNotice, Field, PageHeader, StatusBadge, useAction, useAsync } from '../../components/ui.tsx';
import { RowsTable } from '../../components/lists.tsx';
import { ConfirmDialog } from '../../components/confirm-dialog.tsx';
import { SecretModal } from './keys-secret.tsx';
import type { ApiKey, ApiKeyCreated, Page } from '../../v1-types.ts';

type Pending = { action: 'roll' | 'revoke'; key: ApiKey } | null;

export function ApiKeysPage() {
  const keys = useAsync((signal) => api.get<Page<ApiKey>>('/v1/api-keys?limit=100', { signal }), []);
  const [label, setLabel] = useState('');
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [pending, setPending] = useState<Pending>(null);

  const create = useAction(async () => api.post<ApiKeyCreated>('/v1/api-keys', { label: label.trim() }, { idempotencyKey: newIdempotencyKey() }));
  async function onCreate(event: FormEvent) {
    event.preventDefault();
    const result = await create.run();
    if (result) {
      setCreated(result);
      setLabel('');
      keys.reload();
    }
  }

  // The dialog shows a failure and stays open; a rolled key's new secret is shown once.
  async function onConfirm() {
    if (!pending) return undefined;
    const { action, key } = pending;
    const path = `/v1/api-keys/${encodeURIComponent(key.id)}`;
    if (action === 'roll') setCreated(await api.post<ApiKeyCreated>(`${path}/roll`, {}, { idempotencyKey: newIdempotencyKey() }));
    else await api.delete(path, { idempotencyKey: newIdempotencyKey() });
    keys.reload();
    return true;
  }

  const list = keys.data?.data ?? [];
  return (
    <>
      <PageHeader title="API keys" subtitle="Keys authenticate your servers on the native (/v1) and eSIM Access APIs." />
      <Card title="Create a key">
        <form onSubmit={onCreate} className="filters">
          <Field label="Label (optional)" hint="Where the key is used, e.g. production backend.">
            {(id) => <input id={id} name="label" maxLength={100} value={label} onChange={(e) => setLabel(e.target.value)} />}
          </Field>
          <button type="submit" className="btn btn-primary" disabled={create.busy}>
            {create.busy ? 'Creating…' : 'Create API key'}
          </button>
        </form>
        <ErrorNotice error={create.error} />
      </Card>
      <Card title="Your keys">
        <ErrorNotice error={keys.error} />
        <RowsTable rows={list.length || !keys.loading ? list : undefined} loading={keys.loading} empty="No API keys yet.">
          {(rows) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col">AccessCode</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="hide-mobile">
                    Created
                  </th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((k) => (
                  <tr key={k.id}>
                    <td>{k.label || <span className="muted">(no label)</span>}</td>
                    <td className="mono">{k.access_code_hint}…</td>
                    <td>
                      <StatusBadge status={k.status} />
                      {k.status === 'active' && k.expires_at ? <div className="small muted">works until {formatTime(k.expires_at)}</div> : null}
                      {k.signature_required ? <div className="small muted">signatures required</div> : null}
                    </td>
                    <td className="small hide-mobile">{formatTime(k.created_at)}</td>
                    <td>
                      {k.status === 'active' ? (
                        <div className="row">
                          <button type="button" className="btn btn-small" onClick={() => setPending({ action: 'roll', key: k })} aria-label={`Roll key ${k.access_code_hint}`}>
                            Roll
                          </button>
                          <button type="button" className="btn btn-small btn-danger" onClick={() => setPending({ action: 'revoke', key: k })} aria-label={`Revoke key ${k.access_code_hint}`}>
                            Revoke
                          </button>
                        </div>
                      ) : (
                        <span className="small muted">revoked {formatTime(k.revoked_at)}</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </RowsTable>
      </Card>
      <ConfirmDialog
        open={pending !== null}
        title={pending?.action === 'roll' ? 'Roll this API key?' : 'Revoke this API key?'}
        danger={pending?.action === 'revoke'}
        confirmLabel={pending?.action === 'roll' ? 'Roll key' : 'Revoke key'}
        cancelLabel="Cancel"
        onConfirm={onConfirm}
        onClose={() => setPending(null)}
      >
        {pending ? (
          <>
            <p>
              {pending.action === 'roll'
                ? 'A new AccessCode and SecretKey are issued. The current key keeps working for a grace period, so you can redeploy.'
                : 'Requests with this key are refused at once. This cannot be undone.'}
            </p>
            <p className="mono">
              {pending.key.label ? `${pending.key.label} · ` : ''}
              {pending.key.access_code_hint}…
            </p>
          </>
        ) : null}
      </ConfirmDialog>
      <SecretModal created={created} onClose={() => setCreated(null)} />
    </>
  );
}
