import Fastify from 'fastify';

/**
 * The baseline every gateway figure is divided by: bare Fastify parsing a JSON body and sending it back,
 * with nothing else (no logging, hooks, schemas or storage). The benchmark posts a payment request, so
 * the echo moves as many bytes as a payment does. Run as a child process, like the gateway, so both
 * compete with the load generator for the same cores.
 */
const app = Fastify({ logger: false });
app.post('/echo', async (request) => request.body);

const address = await app.listen({ host: '127.0.0.1', port: 0 });
// The parent reads the address from this line, as it does from the gateway's log.
process.stdout.write(JSON.stringify({ msg: 'echo listening', address }) + '\n');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
