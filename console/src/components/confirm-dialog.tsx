import type { ReactNode } from 'react';
import { ErrorNotice, Modal, useAction } from './ui.tsx';

/**
 * A yes/no question before a change that cannot be taken back. The dialog closes when `onConfirm` settles
 * with a value other than undefined; when it throws, the error shows in the dialog, which stays open.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  danger,
  confirmLabel = 'Confirm',
  busyLabel,
  cancelLabel = 'Back',
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  danger?: boolean;
  confirmLabel?: string;
  /** The confirm button's text while it runs (default: unchanged). */
  busyLabel?: string;
  cancelLabel?: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}) {
  const action = useAction(onConfirm);
  const close = () => {
    action.clearError();
    onClose();
  };
  return (
    <Modal open={open} title={title} onClose={close}>
      <div className="stack">
        <div>{children}</div>
        <ErrorNotice error={action.error} />
        <div className="row">
          <button
            type="button"
            className={`btn ${danger ? 'btn-danger' : 'btn-primary'}`}
            disabled={action.busy}
            onClick={async () => {
              const done = await action.run();
              if (done !== undefined) onClose();
            }}
          >
            {action.busy && busyLabel ? busyLabel : confirmLabel}
          </button>
          <button type="button" className="btn" onClick={close}>
            {cancelLabel}
          </button>
        </div>
      </div>
    </Modal>
  );
}
