import { useState } from 'react';
import { api } from '../../api.ts';
import { Card, ErrorNotice, Notice, useAction } from '../../components/ui.tsx';
import { CsvInput } from './csv-input.tsx';

const EXAMPLE = 'packageCode,slug,name,price,volume,duration,locationCode\nMY001,US_2_7,United States 2GB 7Days,9000,2147483648,7,US';

/** Catalogue import: the CLI's `catalog import` format; all rows or none. */
export function CatalogImport({ onImported }: { onImported: () => void }) {
  const [csv, setCsv] = useState('');
  const [result, setResult] = useState<{ inserted: number; updated: number } | null>(null);
  const run = useAction(async () => {
    setResult(null);
    const answer = await api.post<{ inserted: number; updated: number }>('/console/api/operator/catalog/import', { csv });
    setResult(answer);
    onImported();
  });
  return (
    <Card title="Import packages">
      <p className="small muted">
        CSV with a header of eSIM Access field names (as <code>esimhub catalog import</code>): packageCode, slug, name, price (1/10,000 USD), volume (bytes), duration, locationCode, and optionally
        type, dataType, description, status, supply… Existing package codes are updated. Every row is checked first: one bad row and nothing is imported.
      </p>
      {result ? (
        <Notice kind="success">
          Imported: {result.inserted} new, {result.updated} updated package{result.inserted + result.updated === 1 ? '' : 's'}.
        </Notice>
      ) : null}
      <ErrorNotice error={run.error} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void run.run();
        }}
      >
        <CsvInput label="Catalogue CSV" value={csv} onChange={setCsv} hint={`For example:\n${EXAMPLE.split('\n')[0]}`} />
        <button type="submit" className="btn btn-primary" disabled={run.busy || !csv.trim()}>
          {run.busy ? 'Importing…' : 'Import'}
        </button>
      </form>
    </Card>
  );
}
