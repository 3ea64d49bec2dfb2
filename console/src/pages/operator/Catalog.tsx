import { useState } from 'react';
import { api, query } from '../../api.ts';
import { flag, formatBytes, formatMoney, parseMoney } from '../../format.ts';
import { Card, ErrorNotice, Field, Modal, Notice, PageHeader, StatusBadge, useAction, useAsync } from '../../components/ui.tsx';
import { TierTable } from './catalog-tiers.tsx';
import { CatalogImport } from './catalog-import.tsx';
import type { OpPackage, OpTier } from './operator-types.ts';
import { FilterSelect, OffsetPager, RowsTable, useOffsetPaging } from '../../components/lists.tsx';
import './operator.css';

const PAGE = 25;

interface PackagePage {
  data: OpPackage[];
  total: number;
  tiers: OpTier[];
}

export function OperatorCatalogPage() {
  const [search, setSearch] = useState('');
  const [location, setLocation] = useState('');
  const [type, setType] = useState('BASE');
  const [status, setStatus] = useState('');
  const { offset, setOffset, filter } = useOffsetPaging();
  const [version, setVersion] = useState(0);
  const [editing, setEditing] = useState<OpPackage | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const bump = () => setVersion((v) => v + 1);

  const locations = useAsync((signal) => api.get<{ data: Array<{ code: string; name: string; type: string }> }>('/console/api/operator/locations', { signal }), []);
  const packages = useAsync(
    (signal) => api.get<PackagePage>(`/console/api/operator/catalog/packages${query({ q: search.trim(), location, type, status, limit: PAGE, offset })}`, { signal }),
    [search, location, type, status, offset, version],
  );
  const toggle = useAction(async (pkg: OpPackage) => {
    const next = pkg.status === 'active' ? 'retired' : 'active';
    await api.patch(`/console/api/operator/catalog/packages/${encodeURIComponent(pkg.package_code)}`, { status: next });
    setMessage(next === 'retired' ? `${pkg.name} is disabled: it is no longer listed or sold (existing eSIMs keep it).` : `${pkg.name} is enabled and on sale again.`);
    bump();
  });
  const total = packages.data?.total ?? 0;
  const tiers = packages.data?.tiers ?? [];

  return (
    <>
      <PageHeader title="Catalog" subtitle="Packages, list prices, tier markups and imports." />
      {message ? <Notice kind="success">{message}</Notice> : null}
      <TierTable onChanged={bump} />

      <Card title="Packages">
        <div className="filters" role="search">
          <div className="field">
            <label htmlFor="pkg-search">Search</label>
            <input id="pkg-search" type="search" placeholder="Code, slug or name" value={search} onChange={filter(setSearch)} />
          </div>
          <div className="field">
            <label htmlFor="pkg-location">Location</label>
            <select id="pkg-location" className="op-select-wide" value={location} onChange={filter(setLocation)}>
              <option value="">All locations</option>
              {(locations.data?.data ?? []).map((l) => (
                <option key={l.code} value={l.code}>
                  {l.type === 'country' ? `${flag(l.code)} ` : ''}
                  {l.name} ({l.code})
                </option>
              ))}
            </select>
          </div>
          <FilterSelect id="pkg-type" label="Type" value={type} onChange={filter(setType)} options={[['BASE', 'Base plans'], ['TOPUP', 'Top-ups'], ['', 'All']]} />
          <FilterSelect id="pkg-status" label="Status" value={status} onChange={filter(setStatus)} options={[['', 'All'], ['active', 'Enabled'], ['retired', 'Disabled']]} />
        </div>
        <ErrorNotice error={packages.error ?? toggle.error} />
        <RowsTable rows={packages.data?.data} loading={packages.loading} empty="No packages match." className="op-scroll">
          {(rows) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Package</th>
                  <th scope="col" className="hide-mobile">
                    Location
                  </th>
                  <th scope="col" className="hide-mobile">
                    Data
                  </th>
                  <th scope="col" className="num">
                    List price
                  </th>
                  {tiers.map((t) => (
                    <th scope="col" className="num hide-mobile" key={t.id}>
                      {t.name}
                    </th>
                  ))}
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((p) => (
                  <tr key={p.package_code}>
                    <td>
                      <div>{p.name}</div>
                      <div className="mono small muted">
                        {p.package_code} · {p.slug}
                      </div>
                    </td>
                    <td className="hide-mobile">
                      {p.locations.length === 1 ? `${flag(p.locations[0])} ` : ''}
                      {p.location_code}
                      {p.locations.length > 1 ? <span className="small muted"> ({p.locations.length} countries)</span> : null}
                    </td>
                    <td className="hide-mobile small">
                      {p.volume_bytes > 0 ? formatBytes(p.volume_bytes) : 'Unlimited'} · {p.duration} {p.duration_unit.toLowerCase()}
                      {p.duration === 1 ? '' : 's'}
                    </td>
                    <td className="num">{formatMoney(p.list_price, p.currency)}</td>
                    {p.tier_prices.map((t) => (
                      <td className="num hide-mobile small" key={t.tier_id}>
                        {formatMoney(t.price, p.currency)}
                      </td>
                    ))}
                    <td>
                      <StatusBadge status={p.status === 'active' ? 'active' : 'retired'} />
                    </td>
                    <td>
                      <div className="op-actions">
                        <button type="button" className="btn btn-small" onClick={() => setEditing(p)} aria-label={`Edit the price of ${p.package_code}`}>
                          Price
                        </button>
                        <button
                          type="button"
                          className={`btn btn-small ${p.status === 'active' ? 'btn-danger' : ''}`}
                          disabled={toggle.busy}
                          onClick={() => void toggle.run(p)}
                          aria-label={`${p.status === 'active' ? 'Disable' : 'Enable'} ${p.package_code}`}
                        >
                          {p.status === 'active' ? 'Disable' : 'Enable'}
                        </button>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </RowsTable>
        {total > 0 ? <OffsetPager offset={offset} total={total} pageSize={PAGE} onOffset={setOffset} /> : null}
      </Card>

      <CatalogImport onImported={bump} />

      <Modal open={editing !== null} title="Edit list price" onClose={() => setEditing(null)}>
        {editing ? (
          <PriceForm
            key={editing.package_code}
            pkg={editing}
            onSaved={(text) => {
              setEditing(null);
              setMessage(text);
              bump();
            }}
          />
        ) : null}
      </Modal>
    </>
  );
}

function PriceForm({ pkg, onSaved }: { pkg: OpPackage; onSaved: (message: string) => void }) {
  const [value, setValue] = useState((pkg.list_price / 10_000).toFixed(2));
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useAction(async () => {
    const minor = parseMoney(value);
    if (minor === null || minor <= 0) {
      setInvalid('Enter a positive amount such as 4.50.');
      return;
    }
    setInvalid(null);
    await api.patch(`/console/api/operator/catalog/packages/${encodeURIComponent(pkg.package_code)}`, { price: minor });
    onSaved(`${pkg.name} now lists at ${formatMoney(minor, pkg.currency)}.`);
  });
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        void save.run();
      }}
    >
      <p>
        {pkg.name} <span className="mono small muted">{pkg.package_code}</span>
      </p>
      <ErrorNotice error={save.error} />
      <Field label={`List price (${pkg.currency})`} hint="Partners pay this × their tier's factor. Orders already placed keep their price." error={invalid}>
        {(id) => <input id={id} inputMode="decimal" required value={value} onChange={(event) => setValue(event.target.value)} />}
      </Field>
      <button type="submit" className="btn btn-primary" disabled={save.busy}>
        {save.busy ? 'Saving…' : 'Save price'}
      </button>
    </form>
  );
}
