import { formatTime } from '../../format.ts';
import { CopyButton, Modal, Notice } from '../../components/ui.tsx';
import type { ApiKeyCreated } from '../../v1-types.ts';

/** Shows a new key's AccessCode and SecretKey once. */
export function SecretModal({ created, onClose }: { created: ApiKeyCreated | null; onClose: () => void }) {
  return (
    <Modal open={created !== null} title="Your new API key" onClose={onClose}>
      {created ? (
        <div className="stack">
          <Notice kind="warning">
            <strong>Copy the SecretKey now: you will not see it again.</strong> Store both values in your secrets manager. If you lose the SecretKey, roll the key.
          </Notice>
          <div>
            <div className="row">
              <strong>AccessCode</strong>
              <CopyButton text={created.access_code} label="Copy AccessCode" />
            </div>
            <div className="secret" aria-label="AccessCode">
              {created.access_code}
            </div>
          </div>
          <div>
            <div className="row">
              <strong>SecretKey</strong>
              <CopyButton text={created.secret_key} label="Copy SecretKey" />
            </div>
            <div className="secret" aria-label="SecretKey">
              {created.secret_key}
            </div>
          </div>
          {created.previous_key_expires_at ? <p className="muted">The key you rolled keeps working until {formatTime(created.previous_key_expires_at)}, so you can redeploy.</p> : null}
          <p className="muted small">
            Send the AccessCode as <code>Authorization: Bearer …</code> (native API) or <code>RT-AccessCode</code> (eSIM Access API).
          </p>
          <div className="row">
            <button type="button" className="btn btn-primary" onClick={onClose}>
              I have saved it
            </button>
          </div>
        </div>
      ) : null}
    </Modal>
  );
}
