import { Link } from 'wouter';
import { api } from '../../api.ts';
import { formatBytes, formatMoney, formatTime } from '../../format.ts';
import { usePartner } from '../../session.tsx';
import { BarChart, Card, ErrorNotice, Loading, PageHeader, Stat, useAsync } from '../../components/ui.tsx';
import type { DashboardData } from './dashboard-types.ts';

export function DashboardPage() {
  const partner = usePartner();
  const { data, error, loading, reload } = useAsync((signal) => api.get<DashboardData>('/console/api/dashboard', { signal }), []);
  const sandbox = partner.environment === 'sandbox';
  const orders = data ? data.orders_per_day.reduce((sum, p) => sum + p.value, 0) : 0;
  const used = data ? data.data_used_per_day.reduce((sum, p) => sum + p.value, 0) : 0;
  return (
    <>
      <PageHeader
        title="Dashboard"
        subtitle={data ? `Last 30 days, up to ${formatTime(data.now)}${sandbox ? ' (your sandbox clock)' : ''}` : partner.name}
        actions={
          <>
            <button type="button" className="btn" onClick={reload} disabled={loading}>
              Refresh
            </button>
            <Link href="/buy" className="btn btn-primary">
              Buy eSIMs
            </Link>
          </>
        }
      />
      <ErrorNotice error={error} />
      {!data ? (
        loading ? <Loading /> : null
      ) : (
        <>
          <div className="grid" aria-label="Key figures">
            <Stat label="Balance" value={formatMoney(data.balance, data.currency)} hint={<Link href="/billing">{sandbox ? 'Make a deposit' : 'Deposits and history'}</Link>} />
            <Stat label="Spend, last 30 days" value={formatMoney(data.spend, data.currency)} hint="Charges minus refunds" />
            <Stat label="Active eSIMs" value={data.active_esims.toLocaleString('en-US')} hint={<Link href="/esims">Not cancelled, revoked, used up or expired</Link>} />
            <Stat label="Orders, last 30 days" value={orders.toLocaleString('en-US')} hint={`${formatBytes(used)} of data used`} />
          </div>
          <div className="grid-2 mt">
            <Card title="Orders per day">
              <BarChart points={data.orders_per_day} format={(v) => `${v} order${v === 1 ? '' : 's'}`} label="Orders per day over the last 30 days" />
            </Card>
            <Card title="Data used per day">
              <BarChart points={data.data_used_per_day} format={formatBytes} label="Data used per day over the last 30 days" />
              <p className="muted small">From the usage records your eSIMs' networks report.</p>
            </Card>
          </div>
        </>
      )}
    </>
  );
}
