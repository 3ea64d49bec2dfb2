import { Link } from 'wouter';
import { api } from '../../api.ts';
import { CopyButton, StatusBadge, useAsync } from '../../components/ui.tsx';
import type { Esim } from '../../v1-types.ts';
import type { BrandingData } from './branding-types.ts';
import { qrSrc } from './esims-format.ts';

/**
 * Whether the partner has branding, so install cards show the branded QR (/qr/<token>.svg, as on the install
 * page) instead of the plain PNG. Read once per page: a page shows many cards.
 */
export function useBrandedQr(): boolean {
  const branding = useAsync((signal) => api.get<BrandingData>('/console/api/branding', { signal }), []);
  return branding.data?.configured === true;
}

/**
 * What an end user needs to install one eSIM: the QR code (branded when the partner has branding), the
 * install link and the manual-entry codes.
 */
export function InstallCodes({ esim, heading = true, branded = false }: { esim: Esim; heading?: boolean; branded?: boolean }) {
  const gone = esim.status === 'CANCEL' || esim.status === 'REVOKE';
  const png = qrSrc(esim);
  return (
    <section className="card qr-card" aria-label={`eSIM ${esim.iccid}`}>
      {heading ? (
        <h3>
          <Link href={`/esims/${esim.id}`}>ICCID {esim.iccid}</Link> <StatusBadge status={esim.status} />
        </h3>
      ) : null}
      {gone ? (
        <p className="muted small">This eSIM can no longer be installed.</p>
      ) : branded ? (
        <figure className="qr-branded">
          <img src={png.replace(/\.png$/, '.svg')} alt={`QR code to install eSIM ${esim.iccid}`} width={220} loading="lazy" />
          <figcaption className="small">
            With your branding ·{' '}
            <a href={png} target="_blank" rel="noreferrer" aria-label={`Plain PNG QR code of eSIM ${esim.iccid}`}>
              plain PNG
            </a>
          </figcaption>
        </figure>
      ) : (
        <img src={png} alt={`QR code to install eSIM ${esim.iccid}`} width={220} height={220} loading="lazy" />
      )}
      <dl className="codes">
        <dt>Install link</dt>
        <dd>
          <a href={esim.install_url} target="_blank" rel="noreferrer" className="mono small">
            {esim.install_url}
          </a>
          <CopyButton text={esim.install_url} label="Copy link" />
        </dd>
        <dt>SM-DP+ address</dt>
        <dd>
          <code>{esim.smdp_address}</code>
          <CopyButton text={esim.smdp_address} label="Copy SM-DP+ address" />
        </dd>
        <dt>Matching ID (activation code)</dt>
        <dd>
          <code>{esim.matching_id}</code>
          <CopyButton text={esim.matching_id} label="Copy matching ID" />
        </dd>
        <dt>Full LPA string</dt>
        <dd>
          <code>{esim.activation_code}</code>
          <CopyButton text={esim.activation_code} label="Copy LPA string" />
        </dd>
        {esim.confirmation_code ? (
          <>
            <dt>Confirmation code</dt>
            <dd>
              <code>{esim.confirmation_code}</code>
              <CopyButton text={esim.confirmation_code} label="Copy confirmation code" />
            </dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}
