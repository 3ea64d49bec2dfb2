import type { TestPartner, TestServer } from './server.ts';

/** Polls esim/query by orderNo until the order is ready (or the deadline passes). */
export async function waitForOrder(server: TestServer, partner: TestPartner, orderNo: string, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await server.ea('/esim/query', { orderNo, pager: { pageNum: 1, pageSize: 50 } }, partner);
    if (res.json.success) return res.json.obj;
    if (res.json.errorCode !== '200010') throw new Error(`order ${orderNo} failed: ${res.text}`);
    if (Date.now() > deadline) throw new Error(`order ${orderNo} not ready in ${timeoutMs} ms: ${res.text}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function orderOne(server: TestServer, partner: TestPartner, packageCode: string, transactionId: string, extra: Record<string, unknown> = {}) {
  const res = await server.ea('/esim/order', { transactionId, packageInfoList: [{ packageCode, count: 1, ...extra }] }, partner);
  if (!res.json.success) throw new Error(`order failed: ${res.text}`);
  const obj = await waitForOrder(server, partner, res.json.obj.orderNo);
  return { orderNo: res.json.obj.orderNo as string, esim: obj.esimList[0] };
}
