import Fastify from 'fastify';

// The baseline: Fastify with no logging, one POST route answering a small JSON body.
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
app.post('/bare', async () => ({ success: true, errorCode: '0', errorMsg: null, obj: { balance: 0 } }));
// The baseline for large answers: /bare-bytes?size=N answers N bytes made once (the transfer alone costs this).
const blobs = new Map<number, Buffer>();
app.post<{ Querystring: { size?: string } }>('/bare-bytes', async (request, reply) => {
  const size = Math.min(64 * 1024 * 1024, Math.max(0, Number(request.query.size) || 0));
  let blob = blobs.get(size);
  if (!blob) blobs.set(size, (blob = Buffer.alloc(size, 0x20)));
  return reply.header('content-type', 'application/json; charset=utf-8').send(blob);
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
console.log(`bare listening on ${typeof address === 'object' && address ? address.port : 0}`);
