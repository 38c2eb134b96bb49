#!/usr/bin/env node
import cluster from 'node:cluster';
import { Command } from 'commander';
import { createApp, openApp } from '../app.js';
import { type Config, readConfig } from '../config.js';
import { chooseLogFormat, createLogger } from '../logger.js';
import { shopView } from '../operator/shops.js';
import { migrate, openStore } from '../store/db.js';
import { runCluster } from './cluster.js';
import { registerIntegratorCommands } from './integrator/index.js';

/** ecomgate: the gateway server and the operator's commands. Configuration: ECOMGATE_* and these flags. */
const program = new Command('ecomgate').description('Open-source card-processing gateway (eComCharge / beGateway API)');
program
  .option('--host <host>', 'interface to listen on (ECOMGATE_HOST)')
  .option('--port <port>', 'port to listen on (ECOMGATE_PORT)')
  .option('--database-url <url>', 'postgres://... or sqlite:<path> (ECOMGATE_DATABASE_URL)')
  .option('--public-url <url>', 'base of every URL handed out (ECOMGATE_PUBLIC_URL)');

function config(): Config {
  const flags = program.opts<{ host?: string; port?: string; databaseUrl?: string; publicUrl?: string }>();
  const env = { ...process.env };
  if (flags.host) env.ECOMGATE_HOST = flags.host;
  if (flags.port) env.ECOMGATE_PORT = flags.port;
  if (flags.databaseUrl) env.ECOMGATE_DATABASE_URL = flags.databaseUrl;
  if (flags.publicUrl) env.ECOMGATE_PUBLIC_URL = flags.publicUrl;
  return readConfig(env);
}

/** Opens the store and vault for a one-off operator command, and closes them after. */
async function withOperator<T>(
  work: (tools: Awaited<ReturnType<typeof openApp>> & { store: Awaited<ReturnType<typeof openStore>> }) => Promise<T>,
): Promise<T> {
  const cfg = config();
  const format = chooseLogFormat(cfg.logFormat, process.stderr.isTTY === true);
  const log = createLogger(process.env.ECOMGATE_LOG_LEVEL ?? 'warn', process.stderr as never, format);
  const store = await openStore({ url: cfg.databaseUrl, namedStatements: cfg.namedStatements });
  try {
    return await work({ ...(await openApp(store, { config: cfg }, log)), store });
  } finally {
    await store.close();
  }
}

const print = (value: unknown): void => {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
};

program
  .command('serve')
  .description('start the gateway (the default store is SQLite under ./data)')
  .option('--role <role>', 'all (default), api (HTTP only) or worker (async tasks, webhooks, resolver; health and metrics only) (ECOMGATE_ROLE)')
  .option('--cluster <n>', 'fork n local processes of this role sharing the port; a dead one is restarted (PostgreSQL only)')
  .action(async (options: { role?: string; cluster?: string }) => {
    if (options.role) process.env.ECOMGATE_ROLE = options.role;
    const cfg = config();
    const processes = options.cluster === undefined ? 1 : Number(options.cluster);
    if (!Number.isInteger(processes) || processes < 1) throw new Error(`--cluster must be a whole number of processes, got "${options.cluster}"`);
    if (processes > 1 && cluster.isPrimary) {
      if (cfg.store.dialect !== 'postgres') {
        throw new Error('--cluster needs PostgreSQL (ECOMGATE_DATABASE_URL=postgres://...): SQLite is served by one process');
      }
      return runCluster(processes, createLogger(cfg.logLevel, undefined, chooseLogFormat(cfg.logFormat, process.stdout.isTTY === true)));
    }
    const app = await createApp({ config: cfg });
    await app.listen();
    let closing = false;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (closing) return;
        closing = true;
        app.log.info({ signal }, 'shutting down: finishing in-flight requests');
        app.close().then(
          () => process.exit(0),
          (err) => {
            app.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      });
    }
  });

program
  .command('migrate')
  .description('apply the database migrations and exit')
  .action(async () => {
    const store = await openStore({ url: config().databaseUrl, namedStatements: config().namedStatements });
    try {
      const applied = await migrate(store);
      print({ applied });
    } finally {
      await store.close();
    }
  });

const shop = program.command('shop').description('manage shops');
shop
  .command('create')
  .requiredOption('--id <id>', 'shop id (a positive integer)')
  .option('--secret <secret>', 'secret key (generated when absent)')
  .option('--name <name>', 'shop name')
  .option('--three-d-secure', '3-D Secure on')
  .option('--test', 'test mode')
  .option('--return-host <host...>', 'host names a return_url may lead to (default: none for a live shop, any for a test shop)')
  .action(async (options: { id: string; secret?: string; name?: string; threeDSecure?: boolean; test?: boolean; returnHost?: string[] }) => {
    await withOperator(async ({ shops }) => {
      const created = await shops.create({
        id: Number(options.id),
        secret: options.secret,
        name: options.name,
        threeDSecure: options.threeDSecure,
        test: options.test,
        returnHosts: options.returnHost,
      });
      print({ ...shopView(created.shop), secret_key: created.secret });
    });
  });
shop.command('list').action(async () => {
  await withOperator(async ({ shops }) => print((await shops.list()).map(shopView)));
});
shop
  .command('show')
  .argument('<id>')
  .action(async (id: string) =>
    withOperator(async ({ shops }) => {
      const found = await shops.find(Number(id));
      if (!found) throw new Error(`no shop ${id}`);
      print(shopView(found));
    }),
  );
shop
  .command('rotate-secret')
  .argument('<id>')
  .option('--secret <secret>', 'the new secret key (generated when absent)')
  .action(async (id: string, options: { secret?: string }) =>
    withOperator(async ({ shops }) => {
      const rotated = await shops.rotateSecret(Number(id), options.secret);
      print({ ...shopView(rotated.shop), secret_key: rotated.secret });
    }),
  );

program
  .command('vault')
  .description('card vault maintenance')
  .command('rotate')
  .description('re-encrypt every sealed value (cards, shop keys, queued async requests) under the first key of ECOMGATE_MASTER_KEY')
  .action(async () => withOperator(async ({ vault, store }) => print({ rotated: await vault.rotate(store), key_id: vault.currentKeyId })));

// The integrator's commands (pay, authorize, capture, void, refund, payout, tx, balance, listen): a client of a gateway over HTTP.
registerIntegratorCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`ecomgate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
