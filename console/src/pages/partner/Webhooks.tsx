import { useState } from 'react';
import { PageHeader } from '../../components/ui.tsx';
import { EndpointCard } from './webhooks-endpoint.tsx';
import { DeliveryLog } from './webhooks-log.tsx';
import './webhooks-page.css';

export function WebhooksPage() {
  const [version, setVersion] = useState(0);
  return (
    <>
      <PageHeader title="Webhooks" subtitle="esimhub tells your server about orders, eSIM status, data usage and low balance as they happen." />
      <EndpointCard onChange={() => setVersion((v) => v + 1)} />
      <DeliveryLog version={version} />
    </>
  );
}
