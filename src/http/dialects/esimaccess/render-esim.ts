import type { CatalogService } from '../../../domain/catalog/service.ts';
import type { EsimWithBundles } from '../../../domain/esims/esims.ts';
import type { Esim } from '../../../store/schema.ts';
import { formatEsimAccessTime } from '../../../lib/time.ts';

export function qrCodeUrl(publicBaseUrl: string, esim: Pick<Esim, 'qr_token'>): string {
  return `${publicBaseUrl}/qr/${esim.qr_token}.png`;
}

export function shortUrl(publicBaseUrl: string, esim: Pick<Esim, 'short_code'>): string {
  return `${publicBaseUrl}/i/${esim.short_code}`;
}

/** Before activation the eSIM's clock is its download deadline; after it, the end of validity. */
export function effectiveExpiry(esim: Pick<Esim, 'expired_time' | 'download_deadline'>): number {
  return esim.expired_time ?? esim.download_deadline;
}

/** One `esimList` record with every field real clients read (wire rules). */
export function renderEsim(esim: EsimWithBundles, catalog: CatalogService, publicBaseUrl: string) {
  return {
    esimTranNo: esim.esim_tran_no,
    orderNo: esim.order_no,
    transactionId: esim.transaction_id,
    imsi: esim.imsi ?? '',
    iccid: esim.iccid,
    msisdn: esim.msisdn ?? '',
    smsStatus: esim.sms_status,
    dataType: esim.data_type,
    ac: esim.ac,
    qrCodeUrl: qrCodeUrl(publicBaseUrl, esim),
    shortUrl: shortUrl(publicBaseUrl, esim),
    smdpStatus: esim.smdp_status,
    eid: esim.eid ?? '',
    activeType: esim.active_type,
    activateTime: formatEsimAccessTime(esim.activate_time),
    expiredTime: formatEsimAccessTime(effectiveExpiry(esim)),
    totalVolume: Number(esim.total_volume),
    totalDuration: esim.total_duration,
    durationUnit: esim.duration_unit,
    orderUsage: Number(esim.order_usage),
    pin: esim.pin ?? '',
    puk: esim.puk ?? '',
    apn: esim.apn ?? '',
    esimStatus: esim.esim_status,
    packageList: esim.bundles.map((b) => {
      const pkg = catalog.get(b.package_code) ?? catalog.all().find((p) => p.package_code === b.package_code);
      return {
        packageName: pkg?.name ?? b.package_code,
        packageCode: b.package_code,
        slug: pkg?.slug ?? b.package_code,
        duration: b.duration,
        volume: Number(b.volume),
        locationCode: pkg?.location_code ?? '',
        createTime: formatEsimAccessTime(b.created_at),
      };
    }),
  };
}
