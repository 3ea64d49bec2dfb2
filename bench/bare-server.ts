import Fastify from 'fastify';

// The baseline: Fastify with no logging, one POST route answering a small JSON body.
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
app.post('/bare', async () => ({ success: true, errorCode: '0', errorMsg: null, obj: { balance: 0 } }));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
console.log(`bare listening on ${typeof address === 'object' && address ? address.port : 0}`);
