import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, query } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { Empty, ErrorNotice, Field, Loading, LoadMore, PageHeader, StatusBadge, UsageBar } from '../../components/ui.tsx';
import type { Esim, EsimStatus } from '../../v1-types.ts';
import { useCursorList } from '../../components/lists.tsx';
import { usageOf, usageText } from './esims-format.ts';
import './esims-pages.css';

const STATUSES: Array<{ value: EsimStatus; label: string }> = [
  { value: 'GOT_RESOURCE', label: 'Ready to install' },
  { value: 'IN_USE', label: 'In use' },
  { value: 'USED_UP', label: 'Data used up' },
  { value: 'SUSPENDED', label: 'Suspended' },
  { value: 'USED_EXPIRED', label: 'Expired' },
  { value: 'UNUSED_EXPIRED', label: 'Expired unused' },
  { value: 'CANCEL', label: 'Cancelled' },
  { value: 'REVOKE', label: 'Revoked' },
];

const PAGE_SIZE = 25;

export function EsimsPage() {
  const [status, setStatus] = useState('');
  const [iccidText, setIccidText] = useState('');
  const [iccid, setIccid] = useState('');
  const { rows, loading, error, hasMore, loadMore } = useCursorList<Esim>(`/v1/esims${query({ status, iccid, limit: PAGE_SIZE })}`);

  const search = (event: FormEvent) => {
    event.preventDefault();
    setIccid(iccidText.trim().toUpperCase());
  };

  return (
    <>
      <PageHeader title="eSIMs" subtitle="Every profile you have bought, newest first." actions={<Link href="/buy" className="btn btn-primary">Buy eSIMs</Link>} />
      <form className="filters" onSubmit={search} role="search" aria-label="Filter eSIMs">
        <Field label="Status">
          {(id) => (
            <select id={id} value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="ICCID">
          {(id) => <input id={id} type="search" inputMode="numeric" maxLength={22} placeholder="89…" value={iccidText} onChange={(e) => setIccidText(e.target.value)} autoComplete="off" />}
        </Field>
        <button type="submit" className="btn">
          Search
        </button>
        {iccid ? (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => {
              setIccidText('');
              setIccid('');
            }}
          >
            Clear
          </button>
        ) : null}
      </form>
      <ErrorNotice error={error} />
      {loading && !rows.length ? <Loading label="Loading eSIMs…" /> : null}
      {!loading && !rows.length && !error ? (
        <Empty>
          {status || iccid ? 'No eSIM matches these filters.' : (
            <>
              No eSIMs yet. <Link href="/buy">Buy your first one</Link>.
            </>
          )}
        </Empty>
      ) : null}
      {rows.length ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">eSIMs</caption>
            <thead>
              <tr>
                <th scope="col">ICCID</th>
                <th scope="col" className="hide-mobile">
                  Package
                </th>
                <th scope="col">Status</th>
                <th scope="col">Data used</th>
                <th scope="col" className="hide-mobile">
                  Bought
                </th>
                <th scope="col" className="hide-mobile">
                  Expires
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((esim) => {
                const { used, total } = usageOf(esim);
                return (
                  <tr key={esim.id}>
                    <td>
                      <Link href={`/esims/${esim.id}`} className="mono">
                        {esim.iccid}
                      </Link>
                    </td>
                    <td className="hide-mobile mono small">{esim.package_id}</td>
                    <td>
                      <StatusBadge status={esim.status} />
                    </td>
                    <td className="usage-cell">
                      <UsageBar usedBytes={used} totalBytes={total} label={`Data used by ${esim.iccid}`} />
                      <div className="small muted">{usageText(esim)}</div>
                    </td>
                    <td className="hide-mobile small">{formatTime(esim.created_at)}</td>
                    <td className="hide-mobile small">{formatTime(esim.expires_at ?? esim.install_by)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore hasMore={hasMore} onMore={loadMore} busy={loading} />
    </>
  );
}
