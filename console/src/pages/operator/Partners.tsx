import { useState } from 'react';
import { api, query } from '../../api.ts';
import { formatMoney, formatTime } from '../../format.ts';
import { Card, ErrorNotice, Modal, PageHeader, StatusBadge, useAsync } from '../../components/ui.tsx';
import { CreatePartnerForm } from './partner-create.tsx';
import { PartnerDetail } from './partner-detail.tsx';
import type { OpPartner, OpTier } from './operator-types.ts';
import { FilterSelect, OffsetPager, RowsTable, useOffsetPaging } from '../../components/lists.tsx';
import './operator.css';

const PAGE = 25;

export function OperatorPartnersPage() {
  const [search, setSearch] = useState('');
  const [environment, setEnvironment] = useState('');
  const [status, setStatus] = useState('');
  const { offset, setOffset, filter } = useOffsetPaging();
  const [version, setVersion] = useState(0);
  const [creating, setCreating] = useState(false);
  const [openId, setOpenId] = useState<string | null>(null);

  const partners = useAsync(
    (signal) => api.get<{ data: OpPartner[]; total: number }>(`/console/api/operator/partners${query({ q: search.trim(), environment, status, limit: PAGE, offset })}`, { signal }),
    [search, environment, status, offset, version],
  );
  const tiers = useAsync((signal) => api.get<{ data: OpTier[] }>('/console/api/operator/tiers', { signal }), []);
  const changed = () => setVersion((v) => v + 1);
  const total = partners.data?.total ?? 0;

  return (
    <>
      <PageHeader
        title="Partners"
        subtitle="Accounts, tiers, balances and status."
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            New partner
          </button>
        }
      />
      <Card>
        <div className="filters" role="search">
          <div className="field">
            <label htmlFor="partner-search">Search</label>
            <input id="partner-search" type="search" placeholder="Name or ptn_ id" value={search} onChange={filter(setSearch)} />
          </div>
          <FilterSelect id="partner-env" label="Environment" value={environment} onChange={filter(setEnvironment)} options={[['', 'All'], ['live', 'Live'], ['sandbox', 'Sandbox']]} />
          <FilterSelect id="partner-status" label="Status" value={status} onChange={filter(setStatus)} options={[['', 'All'], ['active', 'Active'], ['suspended', 'Suspended'], ['closed', 'Closed']]} />
        </div>
        <ErrorNotice error={partners.error} />
        <RowsTable rows={partners.data?.data} loading={partners.loading} empty="No partners match." className="op-scroll">
          {(rows) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Partner</th>
                  <th scope="col">Environment</th>
                  <th scope="col" className="hide-mobile">
                    Currency
                  </th>
                  <th scope="col">Tier</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Balance
                  </th>
                  <th scope="col" className="hide-mobile">
                    Created
                  </th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <div>{p.name}</div>
                      <div className="mono small muted">{p.id}</div>
                    </td>
                    <td>
                      <span className={`env env-${p.environment}`}>{p.environment}</span>
                    </td>
                    <td className="hide-mobile">{p.currency}</td>
                    <td>{p.price_tier_id}</td>
                    <td>
                      <StatusBadge status={p.status} />
                    </td>
                    <td className="num">{formatMoney(p.balance, p.currency)}</td>
                    <td className="small hide-mobile">{formatTime(p.created_at)}</td>
                    <td>
                      <button type="button" className="btn btn-small" onClick={() => setOpenId(p.id)} aria-label={`Manage ${p.name}`}>
                        Manage
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </RowsTable>
        {total > PAGE ? <OffsetPager offset={offset} total={total} pageSize={PAGE} onOffset={setOffset} /> : null}
      </Card>

      <Modal open={creating} title="New partner" onClose={() => setCreating(false)}>
        <CreatePartnerForm tiers={tiers.data?.data ?? []} onCreated={changed} onClose={() => setCreating(false)} />
      </Modal>
      <Modal open={openId !== null} title="Partner" onClose={() => setOpenId(null)}>
        {openId ? <PartnerDetail key={openId} id={openId} tiers={tiers.data?.data ?? []} onChanged={changed} /> : null}
      </Modal>
    </>
  );
}
