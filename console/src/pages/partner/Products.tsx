import { useEffect, useState } from 'react';
import { Link } from 'wouter';
import { api, query } from '../../api.ts';
import { flag, formatMoney } from '../../format.ts';
import { Card, Empty, ErrorNotice, Field, Loading, LoadMore, Modal, PageHeader, useAsync } from '../../components/ui.tsx';
import type { Location, Package, Page } from '../../v1-types.ts';
import { DATA_TYPES, DATA_TYPE_FILTERS, validityLabel, volumeLabel } from './esims-format.ts';
import { LocationPicker } from './products-location-picker.tsx';
import { useDebounced } from './esims-hooks.ts';
import './esims-pages.css';

/** A location's plans fit in a few pages; more than this many pages is not a catalogue a person browses. */
const MAX_LOCATION_PAGES = 20;
const PAGE_SIZE = 100;

/** Every location (a few hundred): /v1/locations comes in pages like every /v1 list. */
async function allLocations(signal: AbortSignal): Promise<{ data: Location[] }> {
  const data: Location[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<Location> = await api.get<Page<Location>>(`/v1/locations${query({ limit: PAGE_SIZE, cursor })}`, { signal });
    data.push(...page.data);
    cursor = page.has_more ? page.next_cursor : null;
  } while (cursor);
  return { data };
}

export function ProductsPage() {
  const [search, setSearch] = useState('');
  const [location, setLocation] = useState('');
  const [dataType, setDataType] = useState('');
  const [topupsFor, setTopupsFor] = useState<Package | null>(null);

  const locations = useAsync((signal) => allLocations(signal), []);
  // The server searches the whole catalogue: what is loaded is only the first pages of the answer.
  const settledSearch = useDebounced(search.trim());
  const catalog = usePackages({ location, q: settledSearch, data_type: dataType });
  const shown = catalog.packages;

  const locationName = locations.data?.data.find((l) => l.code === location)?.name;

  return (
    <>
      <PageHeader title="Products" subtitle="Data plans by country and region, at your price." actions={<Link href="/buy" className="btn btn-primary">Buy eSIMs</Link>} />
      <Card title="Where">
        <ErrorNotice error={locations.error} />
        {locations.data ? <LocationPicker locations={locations.data.data} value={location} onChange={setLocation} /> : locations.loading ? <Loading label="Loading countries…" /> : null}
      </Card>
      <div className="filters">
        <Field label="Search plans">{(id) => <input id={id} type="search" placeholder="Name, code or place, e.g. Japan, 5GB, US_1_7" value={search} onChange={(e) => setSearch(e.target.value)} autoComplete="off" />}</Field>
        <Field label="Data type">
          {(id) => (
            <select id={id} value={dataType} onChange={(e) => setDataType(e.target.value)}>
              {DATA_TYPE_FILTERS.map((f) => (
                <option key={f.value} value={f.value}>
                  {f.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <ErrorNotice error={catalog.error} />
      <h2 className="sr-only">Plans</h2>
      <p className="muted small" aria-live="polite">
        {catalog.loading && !catalog.packages.length ? '' : `${shown.length} plan${shown.length === 1 ? '' : 's'}${locationName ? ` for ${locationName}` : ''}${catalog.hasMore ? ' loaded so far' : ''}`}
      </p>
      {catalog.loading && !catalog.packages.length ? <Loading label="Loading plans…" /> : null}
      {!catalog.loading && !shown.length ? <Empty>No plan matches these filters.</Empty> : null}
      <div className="product-grid">
        {shown.map((p) => (
          <ProductCard key={p.id} pkg={p} onTopups={() => setTopupsFor(p)} />
        ))}
      </div>
      <LoadMore hasMore={catalog.hasMore} onMore={catalog.more} busy={catalog.loading} />
      <Modal open={topupsFor !== null} title={topupsFor ? `Top-ups for ${topupsFor.name}` : 'Top-ups'} onClose={() => setTopupsFor(null)}>
        {topupsFor ? <TopupsThatFit pkg={topupsFor} /> : null}
      </Modal>
    </>
  );
}

function ProductCard({ pkg, onTopups }: { pkg: Package; onTopups: () => void }) {
  const operators = [...new Set(pkg.networks.flatMap((n) => n.operators.map((o) => `${o.name} ${o.network_type}`)))];
  return (
    <article className="card product" aria-labelledby={`pkg-${pkg.id}`}>
      <h3 id={`pkg-${pkg.id}`}>
        <span className="flag" aria-hidden="true">
          {flag(pkg.location_code)}
        </span>
        {pkg.name}
      </h3>
      <div className="muted small">
        <span className="mono">{pkg.id}</span> · <span className="mono">{pkg.slug}</span>
      </div>
      <div className="facts">
        <span className="badge badge-info">{volumeLabel(pkg)}</span>
        <span className="badge badge-muted">{validityLabel(pkg)}</span>
        <span className="badge badge-muted">{DATA_TYPES[pkg.data_type] ?? `type ${pkg.data_type}`}</span>
        {pkg.sms_supported ? <span className="badge badge-muted">SMS</span> : null}
      </div>
      <div>
        <span className="price">{formatMoney(pkg.price, pkg.currency)}</span>
        <span className="muted small">{pkg.day_pass ? ' per day' : ''} · retail {formatMoney(pkg.retail_price, pkg.currency)}</span>
      </div>
      {operators.length ? (
        <div className="muted small" title={operators.join(', ')}>
          {operators.slice(0, 3).join(', ')}
          {operators.length > 3 ? ` +${operators.length - 3} more` : ''}
        </div>
      ) : null}
      <div className="actions">
        <button type="button" className="btn btn-small" onClick={onTopups} aria-label={`Top-ups that fit ${pkg.name}`}>
          Top-ups that fit
        </button>
        <Link href={`/buy${query({ package: pkg.id })}`} className="btn btn-small btn-primary" aria-label={`Buy ${pkg.name}`}>
          Buy
        </Link>
      </div>
    </article>
  );
}

function TopupsThatFit({ pkg }: { pkg: Package }) {
  const topups = useAsync((signal) => api.get<Page<Package>>(`/v1/packages${query({ type: 'topup', topup_for_package: pkg.id, limit: PAGE_SIZE })}`, { signal }), [pkg.id]);
  if (topups.loading) return <Loading />;
  if (topups.error) return <ErrorNotice error={topups.error} />;
  const list = topups.data?.data ?? [];
  if (!list.length) return <Empty>No top-up fits this plan.</Empty>;
  return (
    <div className="table-wrap">
      <table>
        <caption className="sr-only">Top-ups that fit {pkg.name}</caption>
        <thead>
          <tr>
            <th scope="col">Top-up</th>
            <th scope="col">Data</th>
            <th scope="col">Validity</th>
            <th scope="col" className="num">
              Price
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((t) => (
            <tr key={t.id}>
              <td>
                {t.name}
                <div className="muted small mono">{t.id}</div>
              </td>
              <td>{volumeLabel(t)}</td>
              <td>{validityLabel(t)}</td>
              <td className="num">{formatMoney(t.price, t.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">Top an eSIM up from its page under eSIMs.</p>
    </div>
  );
}

interface PackageFilters {
  location: string;
  /** Text the server finds in the name, code, slug or location name. */
  q: string;
  /** '', fixed, daily or unlimited (GET /v1/packages data_type). */
  data_type: string;
}

/**
 * Base packages matching the filters: every page of one location (a few dozen plans), or the whole catalogue
 * page by page (thousands) when no location is chosen.
 */
function usePackages(filters: PackageFilters) {
  const { location, q, data_type } = filters;
  const [packages, setPackages] = useState<Package[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setPackages([]);
    setHasMore(false);
    setCursor(null);
    setLoading(true);
    setError(null);
    (async () => {
      let next: string | null = null;
      const all: Package[] = [];
      for (let i = 0; i < (location ? MAX_LOCATION_PAGES : 1); i++) {
        const page: Page<Package> = await api.get<Page<Package>>(`/v1/packages${query({ type: 'base', location, q, data_type, limit: location ? PAGE_SIZE : 48, cursor: next })}`, { signal: controller.signal });
        all.push(...page.data);
        next = page.has_more ? page.next_cursor : null;
        if (!next) break;
      }
      if (controller.signal.aborted) return;
      setPackages(all);
      setCursor(next);
      setHasMore(next !== null);
    })()
      .catch((err: Error) => {
        if (!controller.signal.aborted && err.name !== 'AbortError') setError(err);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [location, q, data_type, generation]);

  const more = () => {
    if (!cursor) return;
    setLoading(true);
    api
      .get<Page<Package>>(`/v1/packages${query({ type: 'base', location, q, data_type, limit: PAGE_SIZE, cursor })}`)
      .then((page) => {
        setPackages((list) => [...list, ...page.data]);
        setCursor(page.has_more ? page.next_cursor : null);
        setHasMore(page.has_more);
      })
      .catch((err: Error) => setError(err))
      .finally(() => setLoading(false));
  };

  return { packages, hasMore, loading, error, more, reload: () => setGeneration((g) => g + 1) };
}
