import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { api, ApiError, newIdempotencyKey, query } from '../../api.ts';
import { flag, formatMoney } from '../../format.ts';
import { Card, ErrorNotice, Field, Loading, Notice, PageHeader, StatusBadge, useAsync } from '../../components/ui.tsx';
import type { Esim, Order, OrderValidation, Package, Page } from '../../v1-types.ts';
import { DATA_TYPES, validityLabel, volumeLabel } from './esims-format.ts';
import { useDebounced } from './esims-hooks.ts';
import { InstallCodes, useBrandedQr } from './esims-install-card.tsx';
import './esims-pages.css';

const MAX_COUNT = 30;
const MAX_DAYS = 365;
const POLL_MS = 500;

export function BuyPage() {
  const params = new URLSearchParams(useSearch());
  const orderId = params.get('order');
  const [, navigate] = useLocation();
  if (orderId) return <OrderResult orderId={orderId} onAnother={() => navigate('/buy')} />;
  return <BuyForm initialPackage={params.get('package') ?? ''} onOrdered={(order) => navigate(`/buy${query({ order: order.id })}`)} />;
}

function BuyForm({ initialPackage, onOrdered }: { initialPackage: string; onOrdered: (order: Order) => void }) {
  const [packageRef, setPackageRef] = useState(initialPackage);
  const [countText, setCountText] = useState('1');
  const [daysText, setDaysText] = useState('1');
  const [placing, setPlacing] = useState(false);
  const [placeError, setPlaceError] = useState<Error | null>(null);
  // Reused by retries of the same order (a lost answer must not order twice); new when the order changes.
  const idempotencyKey = useRef<string | null>(null);
  const inFlight = useRef(false);

  const ref = useDebounced(packageRef.trim());
  const pkg = useAsync(async (signal) => (ref ? api.get<Package>(`/v1/packages/${encodeURIComponent(ref)}`, { signal }) : null), [ref]);
  const selected = pkg.data && pkg.data.type === 'base' ? pkg.data : null;

  const count = Number(countText);
  const days = Number(daysText);
  const countError = Number.isInteger(count) && count >= 1 && count <= MAX_COUNT ? null : `Enter a whole number from 1 to ${MAX_COUNT}.`;
  const daysError = !selected?.day_pass || (Number.isInteger(days) && days >= 1 && days <= MAX_DAYS) ? null : `Enter a whole number of days from 1 to ${MAX_DAYS}.`;
  const line = selected && !countError && !daysError ? { package_id: selected.id, count, ...(selected.day_pass ? { period_num: days } : {}) } : null;
  const lineKey = JSON.stringify(line);
  const settledLine = useDebounced(lineKey, 250);

  useEffect(() => {
    idempotencyKey.current = null;
    setPlaceError(null);
  }, [lineKey]);

  const validation = useAsync(
    async (signal) => ({ key: settledLine, result: settledLine !== 'null' ? await api.post<OrderValidation>('/v1/orders/validate', { lines: [JSON.parse(settledLine)] }, { signal }) : null }),
    [settledLine],
  );
  // Only a validation of exactly what the form holds now may enable "Place order".
  const validated = validation.data?.key === lineKey ? validation.data.result : null;

  const place = async (event: FormEvent) => {
    event.preventDefault();
    if (!line || !validated?.balance_sufficient || inFlight.current) return;
    inFlight.current = true;
    setPlacing(true);
    setPlaceError(null);
    idempotencyKey.current ??= newIdempotencyKey();
    try {
      // The validated total goes along: a price change in between is refused (409), not charged.
      const order = await api.post<Order>('/v1/orders', { lines: [line], amount: validated.amount }, { idempotencyKey: idempotencyKey.current });
      idempotencyKey.current = null;
      onOrdered(order);
    } catch (error) {
      setPlaceError(error as Error);
      // Only an answer that never arrived may be the same order: anything else starts afresh next time.
      if (!(error instanceof ApiError && error.status === 0)) idempotencyKey.current = null;
    } finally {
      inFlight.current = false;
      setPlacing(false);
    }
  };

  const packageMissing = pkg.error instanceof ApiError && pkg.error.status === 404;
  return (
    <>
      <PageHeader title="Buy eSIMs" subtitle="Order one or many profiles; they are ready in seconds." actions={<Link href="/products">Browse products</Link>} />
      <form className="grid-2" onSubmit={place} aria-label="Order eSIMs">
        <Card title="Order">
          <Field label="Package" hint="A package code or slug, e.g. US_1_7 — pick one under Products." error={packageMissing ? 'No such package.' : pkg.data && pkg.data.type !== 'base' ? 'That is a top-up: top eSIMs up from their page.' : null}>
            {(id) => <input id={id} required value={packageRef} onChange={(e) => setPackageRef(e.target.value)} autoComplete="off" spellCheck={false} />}
          </Field>
          {pkg.error && !packageMissing ? <ErrorNotice error={pkg.error} /> : null}
          {selected ? (
            <p className="row">
              <span className="flag" aria-hidden="true">
                {flag(selected.location_code)}
              </span>
              <strong>{selected.name}</strong>
              <span className="badge badge-info">{volumeLabel(selected)}</span>
              <span className="badge badge-muted">{validityLabel(selected)}</span>
              <span className="badge badge-muted">{DATA_TYPES[selected.data_type]}</span>
            </p>
          ) : null}
          <Field label="Number of eSIMs" error={countError}>
            {(id) => <input id={id} type="number" inputMode="numeric" min={1} max={MAX_COUNT} step={1} required value={countText} onChange={(e) => setCountText(e.target.value)} />}
          </Field>
          {selected?.day_pass ? (
            <Field label="Days" hint="Day passes are priced per day." error={daysError}>
              {(id) => <input id={id} type="number" inputMode="numeric" min={1} max={MAX_DAYS} step={1} required value={daysText} onChange={(e) => setDaysText(e.target.value)} />}
            </Field>
          ) : null}
        </Card>
        <Card title="Total">
          {!line ? <p className="muted">Choose a package and a number of eSIMs.</p> : null}
          {line && validation.loading && !validated ? <Loading label="Pricing…" /> : null}
          {line ? <ErrorNotice error={validation.error} /> : null}
          {line && validated ? (
            <div className="stack" aria-live="polite">
              {validated.lines.map((l) => (
                <div key={l.package_id} className="muted">
                  {l.count} × {formatMoney(l.unit_price, validated.currency)}
                  {l.period_num ? ` (${l.period_num} day${l.period_num === 1 ? '' : 's'})` : ''}
                </div>
              ))}
              <div className="stat-value" data-testid="order-total">
                {formatMoney(validated.amount, validated.currency)}
              </div>
              <div className="muted small">Balance {formatMoney(validated.balance, validated.currency)}</div>
              {validated.balance_sufficient ? (
                <Notice kind="success">Your balance covers this order.</Notice>
              ) : (
                <Notice kind="warning">
                  Your balance is too low for this order. <Link href="/billing">Add funds under Billing</Link>.
                </Notice>
              )}
            </div>
          ) : null}
          <ErrorNotice error={placeError} />
          <button type="submit" className="btn btn-primary btn-block" disabled={!line || !validated?.balance_sufficient || placing}>
            {placing ? 'Placing order…' : 'Place order'}
          </button>
        </Card>
      </form>
    </>
  );
}

/** Polls the order until it is allocated, then shows every eSIM's QR code and codes at once. */
function OrderResult({ orderId, onAnother }: { orderId: string; onAnother: () => void }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [esims, setEsims] = useState<Esim[] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const branded = useBrandedQr();

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const controller = new AbortController();
    const poll = async () => {
      try {
        const current = await api.get<Order>(`/v1/orders/${encodeURIComponent(orderId)}`, { signal: controller.signal });
        if (stopped) return;
        setOrder(current);
        if (current.status === 'allocating') {
          timer = setTimeout(() => void poll(), POLL_MS);
          return;
        }
        if (current.status === 'ready') {
          const all: Esim[] = [];
          let cursor: string | null = null;
          do {
            const page: Page<Esim> = await api.get<Page<Esim>>(`/v1/esims${query({ order_id: current.id, limit: 100, cursor })}`, { signal: controller.signal });
            all.push(...page.data);
            cursor = page.has_more ? page.next_cursor : null;
          } while (cursor);
          if (!stopped) setEsims(all.reverse());
        }
      } catch (err) {
        if (!stopped && (err as Error).name !== 'AbortError') setError(err as Error);
      }
    };
    void poll();
    return () => {
      stopped = true;
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [orderId]);

  return (
    <>
      <PageHeader
        title={order ? `Order ${order.order_no}` : 'Order'}
        subtitle={order ? `${order.profile_count} eSIM${order.profile_count === 1 ? '' : 's'} · ${formatMoney(order.amount, order.currency)}` : undefined}
        actions={
          <>
            {order?.status === 'ready' ? (
              <a className="btn btn-primary" href={`/v1/orders/${encodeURIComponent(order.id)}/qr-codes.zip`} download>
                Download ZIP
              </a>
            ) : null}
            <button type="button" className="btn" onClick={onAnother}>
              Buy more
            </button>
          </>
        }
      />
      <ErrorNotice error={error} />
      {order ? (
        <p className="row">
          <StatusBadge status={order.status} />
          {order.status === 'allocating' ? (
            <span role="status" aria-live="polite">
              Allocating profiles… {order.allocated_count} of {order.profile_count}
            </span>
          ) : null}
        </p>
      ) : !error ? (
        <Loading />
      ) : null}
      {order?.status === 'failed' ? <Notice kind="warning">The order failed ({order.failure_reason ?? 'no profiles available'}) and was refunded in full.</Notice> : null}
      {order?.status === 'ready' && !esims && !error ? <Loading label="Loading eSIMs…" /> : null}
      {esims ? (
        <>
          <Notice kind="success">
            {esims.length} eSIM{esims.length === 1 ? ' is' : 's are'} ready. Send each end user its QR code or install link; the ZIP holds every QR code as a PNG named by ICCID{branded ? ', a branded SVG beside each,' : ''} and a CSV.
          </Notice>
          <div className="qr-grid">
            {esims.map((esim) => (
              <InstallCodes key={esim.id} esim={esim} branded={branded} />
            ))}
          </div>
        </>
      ) : null}
    </>
  );
}
