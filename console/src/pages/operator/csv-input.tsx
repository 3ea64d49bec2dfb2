import { useState } from 'react';
import { Field } from '../../components/ui.tsx';

/** The largest file the import endpoints accept (8 MiB). */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

/** A CSV chooser: pick a file (read in the browser) or paste its text; both fill the same value. */
export function CsvInput({ label, value, onChange, hint }: { label: string; value: string; onChange: (text: string) => void; hint?: string }) {
  const [fileError, setFileError] = useState<string | null>(null);
  return (
    <div className="op-csv">
      <Field label={`${label} file`} hint="Read in your browser and sent as text (at most 8 MB)." error={fileError}>
        {(id) => (
          <input
            id={id}
            type="file"
            accept=".csv,text/csv,text/plain"
            onChange={(event) => {
              const file = event.target.files?.[0];
              setFileError(null);
              if (!file) return;
              if (file.size > MAX_IMPORT_BYTES) {
                setFileError(`${file.name} is larger than 8 MB: split it into smaller files.`);
                event.target.value = '';
                return;
              }
              file.text().then(onChange, () => setFileError(`${file.name} could not be read.`));
            }}
          />
        )}
      </Field>
      <Field label={`${label} text`} hint={hint}>
        {(id) => <textarea id={id} value={value} spellCheck={false} onChange={(event) => onChange(event.target.value)} />}
      </Field>
    </div>
  );
}
