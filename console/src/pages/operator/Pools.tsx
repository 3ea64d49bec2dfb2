import { useState } from 'react';
import { api } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { Card, ErrorNotice, Field, Notice, PageHeader, useAction, useAsync } from '../../components/ui.tsx';
import { RowsTable } from '../../components/lists.tsx';
import { CsvInput } from './csv-input.tsx';
import type { OpPool } from './operator-types.ts';
import './operator.css';

interface ImportAnswer {
  batch_id: string;
  pool: string;
  inserted: number;
  warnings: Array<{ line: number; reason: string }>;
}

export function OperatorPoolsPage() {
  const [version, setVersion] = useState(0);
  const pools = useAsync((signal) => api.get<{ data: OpPool[] }>('/console/api/operator/pools', { signal }), [version]);
  const rows = pools.data?.data ?? [];
  const low = rows.filter((p) => p.low);

  return (
    <>
      <PageHeader title="Profile pools" subtitle="Live supply: imported eSIM profiles per package or location." />
      {low.length ? (
        <Notice kind="warning">
          {low.length} pool{low.length === 1 ? ' is' : 's are'} at or below the low-stock threshold: {low.map((p) => p.label).join(', ')}.
        </Notice>
      ) : null}
      <Card title="Stock">
        <ErrorNotice error={pools.error} />
        <RowsTable rows={pools.data ? rows : undefined} loading={pools.loading} empty="No profiles imported yet. Live orders need a pool for their package or its location." className="op-scroll">
          {(rows) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Pool</th>
                  <th scope="col" className="num">
                    Available
                  </th>
                  <th scope="col" className="num">
                    Reserved
                  </th>
                  <th scope="col" className="num">
                    Used
                  </th>
                  <th scope="col" className="num hide-mobile">
                    Total
                  </th>
                  <th scope="col" className="num hide-mobile">
                    Alert at
                  </th>
                  <th scope="col">Stock</th>
                  <th scope="col" className="hide-mobile">
                    Batches
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((p) => (
                  <tr key={p.pool}>
                    <td>
                      <div>{p.label}</div>
                      <div className="mono small muted">{p.pool}</div>
                    </td>
                    <td className="num">{p.available}</td>
                    <td className="num">{p.reserved}</td>
                    <td className="num">{p.used}</td>
                    <td className="num hide-mobile">{p.total}</td>
                    <td className="num hide-mobile">{p.low_stock_threshold}</td>
                    <td>{p.low ? <span className="badge badge-bad">low</span> : <span className="badge badge-ok">ok</span>}</td>
                    <td className="small hide-mobile">
                      {p.batches.slice(0, 3).map((b) => (
                        <div key={b.id}>
                          {b.name} · {b.profile_count} · {formatTime(b.created_at)}
                        </div>
                      ))}
                      {p.batches.length > 3 ? <div className="muted">and {p.batches.length - 3} more</div> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </RowsTable>
        <p className="small muted">Reserved: handed to an eSIM that has not been downloaded yet. Used: downloaded.</p>
      </Card>
      <PoolImport onImported={() => setVersion((v) => v + 1)} />
    </>
  );
}

const POOL_CODE = {
  package: { label: 'Package code or slug', placeholder: 'e.g. US_1_7' },
  operator: { label: 'Operator (MCC+MNC)', placeholder: 'e.g. 20801' },
  location: { label: 'Country or region code', placeholder: 'e.g. US or EU-42' },
};

function PoolImport({ onImported }: { onImported: () => void }) {
  const [form, setForm] = useState({ kind: 'package', code: '', name: '', threshold: '0' });
  const [csv, setCsv] = useState('');
  const [result, setResult] = useState<ImportAnswer | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: event.target.value }));
  const run = useAction(async () => {
    setResult(null);
    if (!/^\d+$/.test(form.threshold.trim())) {
      setInvalid('The low-stock threshold must be a whole number (0 or more).');
      return;
    }
    setInvalid(null);
    const answer = await api.post<ImportAnswer>('/console/api/operator/pools/import', {
      csv,
      ...(form.kind === 'package' ? { package_code: form.code.trim() } : form.kind === 'operator' ? { operator: form.code.trim() } : { location_code: form.code.trim().toUpperCase() }),
      ...(form.name.trim() ? { batch_name: form.name.trim() } : {}),
      low_stock_threshold: Number(form.threshold.trim()),
    });
    setResult(answer);
    setCsv('');
    onImported();
  });

  return (
    <Card title="Import a profile batch">
      <p className="small muted">
        CSV as for <code>esimhub profiles import</code>: a header with <code>iccid</code> and <code>ac</code> (LPA:1$SM-DP+$MatchingID), or <code>smdp_address</code> and <code>matching_id</code>; optional confirmation_code, imsi, msisdn, pin, puk, apn. Every row is
        checked first: one bad row (or an ICCID already imported) and nothing is imported.
      </p>
      {result ? (
        <Notice kind="success">
          Imported {result.inserted} profile{result.inserted === 1 ? '' : 's'} into <span className="mono">{result.pool}</span> (batch <span className="mono">{result.batch_id}</span>).
          {result.warnings.length ? (
            <ul>
              {result.warnings.slice(0, 20).map((w, i) => (
                <li key={i}>
                  {w.line > 0 ? `line ${w.line}: ` : ''}
                  {w.reason}
                </li>
              ))}
            </ul>
          ) : null}
        </Notice>
      ) : null}
      {invalid ? (
        <div className="notice notice-error" role="alert">
          {invalid}
        </div>
      ) : null}
      <ErrorNotice error={run.error} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void run.run();
        }}
      >
        <div className="grid-2">
          <Field label="Pool for" hint="A package's own pool; an operator's, drawn on by every package whose networks name it; or a country/region pool any package there may draw from.">
            {(id) => (
              <select id={id} value={form.kind} onChange={set('kind')}>
                <option value="package">A package</option>
                <option value="operator">An operator</option>
                <option value="location">A location</option>
              </select>
            )}
          </Field>
          <Field label={POOL_CODE[form.kind as keyof typeof POOL_CODE].label}>
            {(id) => <input id={id} required value={form.code} onChange={set('code')} placeholder={POOL_CODE[form.kind as keyof typeof POOL_CODE].placeholder} />}
          </Field>
          <Field label="Batch name" hint="Optional; defaults to the date.">
            {(id) => <input id={id} maxLength={200} value={form.name} onChange={set('name')} />}
          </Field>
          <Field label="Low-stock threshold" hint="Alert when available profiles fall to this many.">
            {(id) => <input id={id} inputMode="numeric" value={form.threshold} onChange={set('threshold')} />}
          </Field>
        </div>
        <CsvInput label="Profiles CSV" value={csv} onChange={setCsv} hint="iccid,ac,confirmation_code,imsi,msisdn,pin,puk,apn" />
        <button type="submit" className="btn btn-primary" disabled={run.busy || !csv.trim() || !form.code.trim()}>
          {run.busy ? 'Importing…' : 'Import profiles'}
        </button>
      </form>
    </Card>
  );
}
