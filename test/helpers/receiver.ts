import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook receiver on localhost that answers 200 and keeps every JSON body it was sent. */
export interface JsonReceiver {
  url: string;
  bodies: any[];
  close(): Promise<void>;
}

export async function startJsonReceiver(): Promise<JsonReceiver> {
  const bodies: any[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      try {
        bodies.push(JSON.parse(text));
      } catch {
        bodies.push(text);
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    bodies,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
