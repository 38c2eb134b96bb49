/**
 * Operator interface (spec §7): the CLI as a real child process, the admin HTTP API, the demo shops, the
 * master key rules (dev key for SQLite, refusal on PostgreSQL), vault key rotation and graceful shutdown.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { it, PATIENCE_MS, within } from './support/deadline.js';
import { sql } from 'kysely';
import { createApp, type App } from '../src/app.js';
import { readConfig } from '../src/config.js';
import { openStore } from '../src/store/db.js';
import { updateShop } from '../src/store/shops.js';
import {
  ADMIN_TOKEN,
  DEMO_3DS_SHOP,
  DEMO_SHOP,
  POSTGRES_URL,
  card,
  paymentRequest,
  startGateway,
  testStores,
  type Credentials,
  type HttpAnswer,
  type TestGateway,
} from './support/gateway.js';
import { kill, runCli, scratchDatabase, serve, type ScratchDatabase, type ServeProcess } from './support/processes.js';
import { apiRequest, basicAuth } from './support/http.js';
import { logCapture } from './support/logCapture.js';

async function cliJson(args: string[], env: Record<string, string>): Promise<any> {
  const result = await runCli(args, env);
  assert.equal(result.code, 0, `ecomgate ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

const newKey = () => randomBytes(32).toString('base64');
const keyIdOf = (key: string) => createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex').slice(0, 8);

/** Every row of every table of the gateway, as text, for "never stored in clear" scans. */
async function everyStoredValue(url: string): Promise<{ table: string; column: string; value: string }[]> {
  const store = await openStore({ url });
  try {
    const tables = [
      'shops',
      'cards',
      'transactions',
      'ledger_entries',
      'idempotency_keys',
      'webhook_deliveries',
      'vault_secrets',
      'sandbox_operations',
    ];
    const found: { table: string; column: string; value: string }[] = [];
    for (const table of tables) {
      const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(store.db)).rows;
      for (const row of rows)
        for (const [column, value] of Object.entries(row)) if (value !== null) found.push({ table, column, value: String(value) });
    }
    return found;
  } finally {
    await store.close();
  }
}

async function rowsOf<T>(url: string, query: string): Promise<T[]> {
  const store = await openStore({ url });
  try {
    return (await sql<T>`${sql.raw(query)}`.execute(store.db)).rows;
  } finally {
    await store.close();
  }
}

/** An in-process gateway on an existing database (the CLI's database), listening on a random port. */
interface Running {
  app: App;
  url: string;
  logs: string[];
  close(): Promise<void>;
}

async function gatewayOn(databaseUrl: string, masterKey: string | undefined, demoShops = false): Promise<Running> {
  const { lines: logs, destination: logDestination } = logCapture();
  const config = readConfig(
    {},
    { host: '127.0.0.1', port: 0, databaseUrl, masterKey, adminToken: ADMIN_TOKEN, demoShops, logLevel: 'info', rateLimit: 0 },
  );
  const app = await createApp({ config, logDestination, backgroundWork: false });
  const url = await app.listen();
  return { app, url, logs, close: () => app.close() };
}

const call = (base: string, method: string, path: string, body?: unknown, auth?: Credentials | { bearer: string }): Promise<HttpAnswer> =>
  apiRequest(base, method, path, body, { auth });

const pay = (base: string, shop: Credentials, request: unknown) => call(base, 'POST', '/transactions/payments', { request }, shop);

/** Every key of a JSON value, at any depth. */
function keysOf(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) keysOf(v, into);
  } else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      into.add(key);
      keysOf(inner, into);
    }
  }
  return into;
}

/** The operator's view of a shop never holds a secret or private key, under any name. */
function assertNoSecrets(value: unknown, text: string, secret?: string) {
  const keys = keysOf(value);
  for (const forbidden of ['secret_hash', 'secret_enc', 'private_key', 'private_key_enc', 'secret_key'])
    assert.ok(!keys.has(forbidden), `answer holds ${forbidden}`);
  assert.ok(!/PRIVATE KEY/.test(text), 'answer holds a PEM private key');
  if (secret) assert.ok(!text.includes(secret), 'answer holds the secret key');
}

function assertSpkiPublicKey(publicKey: unknown) {
  assert.equal(typeof publicKey, 'string');
  const key = createPublicKey({ key: Buffer.from(publicKey as string, 'base64'), format: 'der', type: 'spki' });
  assert.equal(key.type, 'public');
  assert.equal(key.asymmetricKeyType, 'rsa');
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
}

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

for (const kind of testStores()) {
  describe(`operator CLI [${kind}]`, () => {
    let db: ScratchDatabase;
    const keyA = newKey();
    const keyB = newKey();
    let env: Record<string, string>;
    const shop: Credentials = { id: 1001, secret: 'cli-secret-' + randomBytes(8).toString('hex') };

    before(async () => {
      db = await scratchDatabase(kind);
      env = { ECOMGATE_DATABASE_URL: db.url, ECOMGATE_MASTER_KEY: keyA };
    });
    after(async () => {
      await db.close();
    });

    it('migrate applies the migrations, then has nothing left to apply', async () => {
      const first = await cliJson(['migrate'], env);
      assert.ok(Array.isArray(first.applied) && first.applied.length > 0, JSON.stringify(first));
      const second = await cliJson(['migrate'], env);
      assert.deepEqual(second.applied, []);
    });

    it('shop create prints the shop with its DER SPKI public key and the secret, never the private key', async () => {
      const result = await runCli(['shop', 'create', '--id', '1001', '--secret', shop.secret, '--name', 'N', '--three-d-secure', '--test'], env);
      assert.equal(result.code, 0, result.stderr);
      const created = JSON.parse(result.stdout);
      assert.equal(created.id, 1001);
      assert.equal(created.name, 'N');
      assert.equal(created.test, true);
      assert.equal(created.three_d_secure, true);
      assert.equal(created.secret_key, shop.secret);
      assert.match(created.created_at, ISO_MS);
      assertSpkiPublicKey(created.public_key);
      const { secret_key: _shown, ...rest } = created;
      assertNoSecrets(rest, result.stdout.replace(shop.secret, ''));
      assert.ok(!/PRIVATE/.test(result.stdout + result.stderr));

      // Stored: the secret only as a keyed hash and a ciphertext, the private key only encrypted.
      const [row] = await rowsOf<Record<string, string>>(db.url, 'select * from shops where id = 1001');
      assert.equal(row.public_key, created.public_key);
      assert.ok(!Object.values(row).some((v) => String(v).includes(shop.secret)));
      assert.ok(!/PRIVATE/.test(row.private_key_enc));
      assert.ok(row.private_key_enc.startsWith(keyIdOf(keyA) + '.'));
    });

    it('shop create generates a secret when none is given, and refuses a duplicate id or a bad one', async () => {
      const generated = await cliJson(['shop', 'create', '--id', '1002'], env);
      assert.match(generated.secret_key, /^[0-9a-f]{64}$/);
      assert.equal(generated.name, 'Shop 1002');
      assert.equal(generated.test, false);
      assert.equal(generated.three_d_secure, false);

      const duplicate = await runCli(['shop', 'create', '--id', '1001', '--secret', 'another-secret-of-length'], env);
      assert.equal(duplicate.code, 1);
      assert.match(duplicate.stderr, /already been taken/);
      assert.equal(duplicate.stdout, '');
      const bad = await runCli(['shop', 'create', '--id', 'abc'], env);
      assert.notEqual(bad.code, 0);
      assert.equal(bad.stdout, '');
    });

    it('shop list and shop show answer the shops without secrets', async () => {
      const result = await runCli(['shop', 'list'], env);
      assert.equal(result.code, 0, result.stderr);
      const list = JSON.parse(result.stdout);
      assert.deepEqual(
        list.map((s: { id: number }) => s.id),
        [1001, 1002],
      );
      assertNoSecrets(list, result.stdout, shop.secret);
      for (const s of list) assertSpkiPublicKey(s.public_key);

      const shown = await runCli(['shop', 'show', '1001'], env);
      assert.equal(shown.code, 0, shown.stderr);
      const one = JSON.parse(shown.stdout);
      assert.equal(one.id, 1001);
      assert.equal(one.three_d_secure, true);
      assert.equal(one.public_key, list[0].public_key);
      assertNoSecrets(one, shown.stdout, shop.secret);

      const missing = await runCli(['shop', 'show', '999'], env);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no shop 999/);
    });

    it('shop rotate-secret: the old secret stops working on a running gateway, the new one works', async () => {
      const gateway = await gatewayOn(db.url, keyA);
      try {
        assert.equal((await pay(gateway.url, shop, paymentRequest())).status, 200);
        const rotated = await cliJson(['shop', 'rotate-secret', '1001'], env);
        assert.equal(rotated.id, 1001);
        assert.match(rotated.secret_key, /^[0-9a-f]{64}$/);
        assert.notEqual(rotated.secret_key, shop.secret);
        const old = await pay(gateway.url, shop, paymentRequest());
        assert.equal(old.status, 401);
        assert.equal(old.body.message, 'Invalid shop_id/secret_key.');
        assert.equal((await pay(gateway.url, { id: 1001, secret: rotated.secret_key }, paymentRequest())).status, 200);

        // An explicit new secret, as an operator migrating a merchant would give it.
        const chosen = 'chosen-secret-' + randomBytes(6).toString('hex');
        const again = await cliJson(['shop', 'rotate-secret', '1001', '--secret', chosen], env);
        assert.equal(again.secret_key, chosen);
        assert.equal((await pay(gateway.url, { id: 1001, secret: rotated.secret_key }, paymentRequest())).status, 401);
        assert.equal((await pay(gateway.url, { id: 1001, secret: chosen }, paymentRequest())).status, 200);
        shop.secret = chosen;

        const unknown = await runCli(['shop', 'rotate-secret', '999'], env);
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /Record not found/);
      } finally {
        await gateway.close();
      }
    });

    it('vault rotate re-encrypts under the new key: with only the new key, tokens still pay and stamps stay', async () => {
      const pans = ['4200000000000000', '5555555555554444', '4012888888881881'];
      // 1. Cards stored under key A.
      const underA = await gatewayOn(db.url, keyA);
      let token: string;
      let stamp: string;
      let secondStamp: string;
      try {
        const first = await pay(underA.url, shop, paymentRequest({ credit_card: card(pans[0]) }));
        assert.equal(first.body.transaction.status, 'successful', first.text);
        token = first.body.transaction.credit_card.token;
        stamp = first.body.transaction.credit_card.stamp;
        const second = await pay(underA.url, shop, paymentRequest({ credit_card: card(pans[1]) }));
        secondStamp = second.body.transaction.credit_card.stamp;
      } finally {
        await underA.close();
      }
      for (const row of await rowsOf<{ key_id: string; pan_enc: string }>(db.url, 'select key_id, pan_enc from cards')) {
        assert.equal(row.key_id, keyIdOf(keyA));
        assert.ok(row.pan_enc.startsWith(keyIdOf(keyA) + '.'));
      }

      // 2. Restart with "B,A": old cards still decrypt, new ones are sealed under B.
      const both = { ...env, ECOMGATE_MASTER_KEY: `${keyB},${keyA}` };
      const underBoth = await gatewayOn(db.url, both.ECOMGATE_MASTER_KEY);
      try {
        const byToken = await pay(underBoth.url, shop, paymentRequest({ credit_card: { token } }));
        assert.equal(byToken.body.transaction.status, 'successful', byToken.text);
        assert.equal(byToken.body.transaction.credit_card.stamp, stamp);
        const third = await pay(underBoth.url, shop, paymentRequest({ credit_card: card(pans[2]) }));
        assert.equal(third.body.transaction.status, 'successful');
      } finally {
        await underBoth.close();
      }
      const keyIds = (await rowsOf<{ key_id: string }>(db.url, 'select key_id from cards')).map((r) => r.key_id).sort();
      assert.deepEqual(keyIds, [keyIdOf(keyA), keyIdOf(keyA), keyIdOf(keyB)].sort());

      // 3. Rotate: everything sealed under A moves to B; a second run has nothing to do.
      const shopCount = (await rowsOf<{ id: number }>(db.url, 'select id from shops')).length;
      const rotation = await cliJson(['vault', 'rotate'], both);
      assert.deepEqual(rotation, { rotated: { cards: 2, shops: shopCount, secrets: 1, tasks: 0 }, key_id: keyIdOf(keyB) });
      assert.deepEqual(await cliJson(['vault', 'rotate'], both), { rotated: { cards: 0, shops: 0, secrets: 0, tasks: 0 }, key_id: keyIdOf(keyB) });
      const prefixB = keyIdOf(keyB) + '.';
      for (const row of await rowsOf<{ key_id: string; pan_enc: string }>(db.url, 'select key_id, pan_enc from cards')) {
        assert.equal(row.key_id, keyIdOf(keyB));
        assert.ok(row.pan_enc.startsWith(prefixB));
      }
      for (const row of await rowsOf<{ secret_enc: string; private_key_enc: string }>(db.url, 'select secret_enc, private_key_enc from shops')) {
        assert.ok(row.secret_enc.startsWith(prefixB) && row.private_key_enc.startsWith(prefixB));
      }
      for (const row of await rowsOf<{ key_id: string; ciphertext: string }>(db.url, 'select key_id, ciphertext from vault_secrets')) {
        assert.equal(row.key_id, keyIdOf(keyB));
        assert.ok(row.ciphertext.startsWith(prefixB));
      }

      // 4. Only B: the token pays, stamps are unchanged, shop secrets still authenticate.
      const underB = await gatewayOn(db.url, keyB);
      try {
        const byToken = await pay(underB.url, shop, paymentRequest({ credit_card: { token } }));
        assert.equal(byToken.status, 200, byToken.text);
        assert.equal(byToken.body.transaction.status, 'successful');
        assert.equal(byToken.body.transaction.credit_card.stamp, stamp);
        assert.equal(byToken.body.transaction.credit_card.token, token);
        const byNumber = await pay(underB.url, shop, paymentRequest({ credit_card: card(pans[1]) }));
        assert.equal(byNumber.body.transaction.credit_card.stamp, secondStamp);
        assert.equal((await call(underB.url, 'GET', '/admin/shops/1001', undefined, { bearer: ADMIN_TOKEN })).status, 200);
      } finally {
        await underB.close();
      }

      // 5. Key A alone no longer opens the vault.
      const onlyA = await runCli(['shop', 'list'], env);
      assert.equal(onlyA.code, 1);
      assert.match(onlyA.stderr, new RegExp(`no master key with id ${keyIdOf(keyB)}`));

      // Never a PAN in clear, in any column of any table; never a CVC field.
      const stored = await everyStoredValue(db.url);
      assert.ok(stored.some((v) => v.table === 'cards' && v.column === 'pan_enc'));
      for (const { table, column, value } of stored) {
        for (const pan of pans) assert.ok(!value.includes(pan), `${table}.${column} holds the PAN ${pan}`);
        assert.ok(!value.includes('verification_value'), `${table}.${column} holds a CVC field`);
      }
    });
  });

  describe(`ecomgate serve [${kind}]`, () => {
    let db: ScratchDatabase;
    let gateway: ServeProcess | undefined;
    before(async () => {
      db = await scratchDatabase(kind);
    });
    after(async () => {
      if (gateway) await kill(gateway);
      await db.close();
    });

    it('listens on a random port, and on SIGTERM finishes the in-flight slow payment, then exits 0', { timeout: 120_000 }, async () => {
      // The in-process gateways' admin token; demo shops and rate limit left to the defaults.
      const server = await serve({
        databaseUrl: db.url,
        masterKey: newKey(),
        env: { ECOMGATE_ADMIN_TOKEN: ADMIN_TOKEN, ECOMGATE_DEMO_SHOPS: undefined, ECOMGATE_RATE_LIMIT: undefined },
      });
      gateway = server;
      const base = server.url;
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(new URL(base).port, '0');

      assert.equal((await call(base, 'GET', '/healthz')).status, 200);
      const slowShop = { id: 2001, secret: 'slow-shop-' + randomBytes(8).toString('hex') };
      const created = await call(
        base,
        'POST',
        '/admin/shops',
        { id: slowShop.id, secret_key: slowShop.secret, test: true, acquirer_settings: { slow_ms: 500 } },
        { bearer: ADMIN_TOKEN },
      );
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.body.acquirer_settings, { slow_ms: 500 });

      // The slow bank holds the payment; wait until it is recorded as processing, then ask for shutdown.
      const inFlight = pay(base, slowShop, paymentRequest({ credit_card: card('4000000000000309') }));
      const store = await openStore({ url: db.url });
      try {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const row = await store.db.selectFrom('transactions').select('status').where('shop_id', '=', slowShop.id).executeTakeFirst();
          if (row) {
            assert.equal(row.status, 'processing');
            break;
          }
          assert.ok(Date.now() < deadline, 'the slow payment was never recorded');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        server.proc.kill('SIGTERM');

        const answer = await inFlight;
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.body.transaction.status, 'successful');
        // The answer's keep-alive connection must not hold the process for the keep-alive timeout (72 s).
        assert.equal(answer.headers.get('connection'), 'close');
        // Well inside the keep-alive timeout: a kept-alive connection would hold the process that long.
        await within(server.exited, PATIENCE_MS, () => `no exit ${PATIENCE_MS} ms after the last answer`);
        const stderr = server.lines.filter((line) => line.startsWith('stderr: ')).join('\n');
        assert.deepEqual({ code: server.proc.exitCode, signal: server.proc.signalCode }, { code: 0, signal: null }, stderr);
        assert.match(server.lines.filter((line) => !line.startsWith('stderr: ')).join('\n'), /shutting down/);
        const row = await store.db
          .selectFrom('transactions')
          .select('status')
          .where('uid', '=', answer.body.transaction.uid)
          .executeTakeFirstOrThrow();
        assert.equal(row.status, 'successful');
      } finally {
        await store.close();
      }
      await assert.rejects(fetch(base + '/healthz'));
    });
  });
}

describe('master key rules', () => {
  if (testStores().includes('postgres')) {
    it('PostgreSQL without ECOMGATE_MASTER_KEY refuses to start, before touching the database', async () => {
      const db = await scratchDatabase('postgres');
      try {
        for (const args of [['serve'], ['shop', 'list'], ['vault', 'rotate']]) {
          const result = await runCli(args, { ECOMGATE_DATABASE_URL: db.url, ECOMGATE_PORT: '0' });
          assert.equal(result.code, 1, args.join(' '));
          assert.match(result.stderr, /ECOMGATE_MASTER_KEY is required with PostgreSQL/);
          assert.equal(result.stdout, '');
        }
        const tables = await rowsOf(db.url, 'select table_name from information_schema.tables where table_schema = current_schema()');
        assert.deepEqual(tables, []);
      } finally {
        await db.close();
      }
    });
  }

  it('SQLite without ECOMGATE_MASTER_KEY warns and keeps a dev key file beside the database', async () => {
    const db = await scratchDatabase('sqlite');
    try {
      const keyPath = join(db.dir!, 'master.key');
      const env = { ECOMGATE_DATABASE_URL: db.url };
      const secret = 'dev-key-shop-' + randomBytes(8).toString('hex');
      const first = await runCli(['shop', 'create', '--id', '1003', '--secret', secret], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /development master key/);
      assert.match(first.stderr, /"created":true/);
      assert.ok(existsSync(keyPath));
      assert.equal(statSync(keyPath).mode & 0o777, 0o600);
      const key = readFileSync(keyPath, 'utf8');
      assert.equal(Buffer.from(key.trim(), 'base64').length, 32);

      const second = await runCli(['shop', 'show', '1003'], env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /"created":false/);
      assert.equal(readFileSync(keyPath, 'utf8'), key);
      const [row] = await rowsOf<{ private_key_enc: string }>(db.url, 'select private_key_enc from shops where id = 1003');
      assert.ok(row.private_key_enc.startsWith(keyIdOf(key.trim()) + '.'));

      // A gateway on the same file (no key configured) opens the vault with that key.
      const gateway = await gatewayOn(db.url, undefined);
      try {
        assert.ok(gateway.logs.some((line) => line.includes('development master key')));
        const answer = await pay(gateway.url, { id: 1003, secret }, paymentRequest());
        assert.equal(answer.body.transaction.status, 'successful', answer.text);
      } finally {
        await gateway.close();
      }
    } finally {
      await db.close();
    }
  });

  it('demo shops default on for the embedded store only', () => {
    assert.equal(readConfig({ ECOMGATE_DATABASE_URL: 'sqlite:/tmp/x.db' }).demoShops, true);
    assert.equal(readConfig({}).demoShops, true);
    assert.equal(readConfig({ ECOMGATE_DATABASE_URL: POSTGRES_URL }).demoShops, false);
    assert.equal(readConfig({ ECOMGATE_DATABASE_URL: POSTGRES_URL, ECOMGATE_DEMO_SHOPS: '1' }).demoShops, true);
    assert.equal(readConfig({ ECOMGATE_DATABASE_URL: 'sqlite:/tmp/x.db', ECOMGATE_DEMO_SHOPS: '0' }).demoShops, false);
  });

  it('webhooks to private networks are allowed by default for the embedded store only', () => {
    assert.equal(readConfig({}).webhookAllowPrivate, true);
    assert.equal(readConfig({ ECOMGATE_DATABASE_URL: POSTGRES_URL }).webhookAllowPrivate, false);
    assert.equal(readConfig({ ECOMGATE_DATABASE_URL: POSTGRES_URL, ECOMGATE_WEBHOOK_ALLOW_PRIVATE: '1' }).webhookAllowPrivate, true);
    assert.equal(readConfig({ ECOMGATE_WEBHOOK_ALLOW_PRIVATE: 'off' }).webhookAllowPrivate, false);
  });
});

for (const kind of testStores()) {
  describe(`admin API [${kind}]`, () => {
    let gw: TestGateway;
    const admin = { bearer: ADMIN_TOKEN };
    const adminCall = (method: string, path: string, body?: unknown, auth: Credentials | { bearer: string } | undefined = admin) =>
      call(gw.url, method, path, body, auth);
    before(async () => {
      gw = await startGateway(kind);
    });
    after(() => gw.close());

    it('POST /admin/shops creates a shop: 201, the shop at top level, the secret shown once', async () => {
      const secret = 'admin-created-' + randomBytes(8).toString('hex');
      const answer = await adminCall('POST', '/admin/shops', { id: 5001, secret_key: secret, name: 'Admin shop', test: true, three_d_secure: true });
      assert.equal(answer.status, 201, answer.text);
      assert.match(answer.headers.get('content-type') ?? '', /application\/json/);
      const shop = answer.body;
      assert.equal(shop.id, 5001);
      assert.equal(shop.name, 'Admin shop');
      assert.equal(shop.test, true);
      assert.equal(shop.three_d_secure, true);
      assert.equal(shop.secret_key, secret);
      assert.match(shop.created_at, ISO_MS);
      assertSpkiPublicKey(shop.public_key);
      const { secret_key: _once, ...rest } = shop;
      assertNoSecrets(rest, answer.text.replace(secret, ''));
      assert.equal((await gw.request('POST', '/transactions/payments', { request: paymentRequest() }, { auth: { id: 5001, secret } })).status, 200);

      const generated = await adminCall('POST', '/admin/shops', { id: 5002 });
      assert.equal(generated.status, 201);
      assert.match(generated.body.secret_key, /^[0-9a-f]{64}$/);
      assert.equal(generated.body.test, false);
      assert.equal(generated.body.three_d_secure, false);

      const shown = await adminCall('GET', '/admin/shops/5001');
      assert.equal(shown.status, 200);
      assert.equal(shown.body.public_key, shop.public_key);
      assert.equal(shown.body.created_at, shop.created_at);
      assertNoSecrets(shown.body, shown.text, secret);
    });

    it('GET /admin/shops and /admin/shops/{id} never answer a secret or a private key', async () => {
      const list = await adminCall('GET', '/admin/shops');
      assert.equal(list.status, 200);
      const ids = list.body.shops.map((s: { id: number }) => s.id);
      for (const id of [361, 362, 5001, 5002]) assert.ok(ids.includes(id), `shop ${id} listed`);
      assertNoSecrets(list.body, list.text, DEMO_SHOP.secret);
      assert.ok(!list.text.includes(DEMO_3DS_SHOP.secret));
      for (const s of list.body.shops) {
        assertSpkiPublicKey(s.public_key);
        const one = await adminCall('GET', `/admin/shops/${s.id}`);
        assert.equal(one.status, 200);
        assert.deepEqual(one.body, s);
        assertNoSecrets(one.body, one.text);
      }
      for (const missing of ['999999', 'abc', '1e3', '-1']) {
        const answer = await adminCall('GET', `/admin/shops/${missing}`);
        assert.equal(answer.status, 404, missing);
        assert.equal(answer.body.message, 'Record not found');
      }
    });

    it('PATCH changes risk rules and acquirer settings, and they take effect', async () => {
      const secret = 'patched-shop-' + randomBytes(8).toString('hex');
      assert.equal((await adminCall('POST', '/admin/shops', { id: 5003, secret_key: secret, test: true })).status, 201);
      const credentials = { id: 5003, secret };
      const patched = await adminCall('PATCH', '/admin/shops/5003', {
        risk_rules: { max_amount: 500 },
        acquirer_settings: { latency_ms: 1 },
        name: 'Renamed',
      });
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual(patched.body.risk_rules, { max_amount: 500 });
      assert.deepEqual(patched.body.acquirer_settings, { latency_ms: 1 });
      assert.equal(patched.body.name, 'Renamed');
      assert.equal(patched.body.test, true);
      assertNoSecrets(patched.body, patched.text, secret);
      assert.deepEqual((await adminCall('GET', '/admin/shops/5003')).body, patched.body);

      const over = await gw.request('POST', '/transactions/payments', { request: paymentRequest({ amount: 501 }) }, { auth: credentials });
      assert.equal(over.status, 200);
      assert.equal(over.body.transaction.status, 'failed');
      assert.match(over.body.transaction.message, /exceeds the limit/);
      const under = await gw.request('POST', '/transactions/payments', { request: paymentRequest({ amount: 500 }) }, { auth: credentials });
      assert.equal(under.body.transaction.status, 'successful', under.text);

      const cleared = await adminCall('PATCH', '/admin/shops/5003', { risk_rules: {} });
      assert.deepEqual(cleared.body.risk_rules, {});
      assert.deepEqual(cleared.body.acquirer_settings, { latency_ms: 1 });
      const now = await gw.request('POST', '/transactions/payments', { request: paymentRequest({ amount: 777 }) }, { auth: credentials });
      assert.equal(now.body.transaction.status, 'successful', now.text);

      const invalid = await adminCall('PATCH', '/admin/shops/5003', { risk_rules: { max_amount: -1, black_list: { emails: 'x' } } });
      assert.equal(invalid.status, 422);
      assert.ok(invalid.body.errors.risk_rules);
      assert.equal(invalid.body.response.message, invalid.body.message);
      assert.equal((await adminCall('PATCH', '/admin/shops/999999', { name: 'x' })).status, 404);
    });

    it('POST /admin/shops/{id}/rotate_secret: the old secret stops working, the new one works', async () => {
      const secret = 'rotated-shop-' + randomBytes(8).toString('hex');
      assert.equal((await adminCall('POST', '/admin/shops', { id: 5004, secret_key: secret })).status, 201);
      const rotated = await adminCall('POST', '/admin/shops/5004/rotate_secret');
      assert.equal(rotated.status, 200, rotated.text);
      assert.equal(rotated.body.id, 5004);
      assert.match(rotated.body.secret_key, /^[0-9a-f]{64}$/);
      assert.equal((await gw.request('POST', '/transactions/payments', { request: paymentRequest() }, { auth: { id: 5004, secret } })).status, 401);
      assert.equal(
        (await gw.request('POST', '/transactions/payments', { request: paymentRequest() }, { auth: { id: 5004, secret: rotated.body.secret_key } }))
          .status,
        200,
      );

      const chosen = 'chosen-rotation-' + randomBytes(8).toString('hex');
      const explicit = await adminCall('POST', '/admin/shops/5004/rotate_secret', { secret_key: chosen });
      assert.equal(explicit.body.secret_key, chosen);
      assert.equal(
        (await gw.request('POST', '/transactions/payments', { request: paymentRequest() }, { auth: { id: 5004, secret: chosen } })).status,
        200,
      );
      assertNoSecrets((await adminCall('GET', '/admin/shops/5004')).body, (await adminCall('GET', '/admin/shops/5004')).text, chosen);
      assert.equal((await adminCall('POST', '/admin/shops/999999/rotate_secret')).status, 404);
    });

    it('answers 401 to a missing or wrong token, and never acts on it', async () => {
      const attempts: [string, Record<string, string>][] = [
        ['missing', {}],
        ['wrong token', { authorization: 'Bearer not-the-token' }],
        ['token with a suffix', { authorization: `Bearer ${ADMIN_TOKEN}x` }],
        ['token prefix', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }],
        ['empty bearer', { authorization: 'Bearer ' }],
        ['basic instead of bearer', { authorization: basicAuth(DEMO_SHOP) }],
        ['token as basic password', { authorization: basicAuth({ id: 'admin', secret: ADMIN_TOKEN }) }],
      ];
      for (const [what, headers] of attempts) {
        for (const [method, path] of [
          ['GET', '/admin/shops'],
          ['GET', '/admin/shops/361'],
          ['POST', '/admin/shops'],
          ['PATCH', '/admin/shops/361'],
          ['POST', '/admin/shops/361/rotate_secret'],
        ]) {
          const body = method === 'GET' ? undefined : JSON.stringify({ id: 5999, name: 'x' });
          const response = await fetch(gw.url + path, {
            method,
            headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
            body,
          });
          assert.equal(response.status, 401, `${what}: ${method} ${path}`);
          assert.equal(response.headers.get('www-authenticate'), 'Bearer');
          const answer = await response.json();
          assert.equal(answer.message, 'Invalid admin token.');
          assert.equal(answer.response.message, answer.message);
        }
      }
      assert.equal((await adminCall('GET', '/admin/shops/5999')).status, 404);
      // The demo shop's secret was not rotated by any of those.
      assert.equal((await gw.post('/transactions/payments', paymentRequest())).status, 200);
      // "bearer" in any case is accepted.
      assert.equal((await fetch(gw.url + '/admin/shops', { headers: { authorization: `bearer ${ADMIN_TOKEN}` } })).status, 200);
    });

    it('refuses a duplicate id and invalid shops with 422', async () => {
      const duplicate = await adminCall('POST', '/admin/shops', { id: 361, secret_key: 'x'.repeat(32) });
      assert.equal(duplicate.status, 422);
      assert.deepEqual(duplicate.body.errors, { id: ['has already been taken'] });
      assert.equal(duplicate.body.response.message, duplicate.body.message);
      // The demo shop keeps its secret.
      assert.equal((await gw.post('/transactions/payments', paymentRequest())).status, 200);

      for (const body of [{}, { id: 0 }, { id: 'abc' }, { id: 5100, secret_key: 'short' }, { id: 5101, test: 'yes' }]) {
        const answer = await adminCall('POST', '/admin/shops', body);
        assert.equal(answer.status, 422, JSON.stringify(body));
        assert.ok(answer.body.errors, answer.text);
      }
      const notObject = await call(gw.url, 'POST', '/admin/shops', [1, 2], admin);
      assert.equal(notObject.status, 422);
      assert.equal((await adminCall('GET', '/admin/shops/5100')).status, 404);
    });

    it("a shop's acquirer connector: a known one accepted, others refused with 422; a stored unknown one fails requests", async () => {
      const secret = 'connector-shop-' + randomBytes(8).toString('hex');
      const created = await adminCall('POST', '/admin/shops', { id: 5200, secret_key: secret, acquirer: 'sandbox', test: true });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.acquirer, 'sandbox');
      assert.equal((await adminCall('GET', '/admin/shops/5201')).status, 404);
      const unknown = await adminCall('POST', '/admin/shops', { id: 5201, acquirer: 'no-such-bank' });
      assert.equal(unknown.status, 422, unknown.text);
      assert.deepEqual(unknown.body.errors, { acquirer: ['is not a known connector'] });
      assert.equal(unknown.body.response.message, unknown.body.message);
      assert.equal((await adminCall('GET', '/admin/shops/5201')).status, 404);
      const patched = await adminCall('PATCH', '/admin/shops/5200', { acquirer: 'no-such-bank' });
      assert.equal(patched.status, 422, patched.text);
      assert.deepEqual(patched.body.errors, { acquirer: ['is not a known connector'] });
      assert.equal((await adminCall('GET', '/admin/shops/5200')).body.acquirer, 'sandbox');
      const auth = { id: 5200, secret };
      assert.equal((await gw.request('POST', '/transactions/payments', { request: paymentRequest() }, { auth })).status, 200);

      // A row naming a connector this gateway lacks (written by another version): never the sandbox instead.
      await gw.app.store.transaction((tx) =>
        updateShop(tx, 5200, { acquirer: 'retired-bank', updated_at: new Date(Date.now() + 1000).toISOString() }),
      );
      const stored = await gw.count('transactions');
      const refused = await gw.request('POST', '/transactions/payments', { request: paymentRequest() }, { auth });
      assert.equal(refused.status, 500, refused.text);
      assert.equal(refused.body.message, "We're sorry, but something went wrong");
      assert.equal(await gw.count('transactions'), stored, 'no transaction waits for a connector that is not there');
      assert.ok(gw.logs.some((line) => line.includes('names the acquirer connector \\"retired-bank\\", which this gateway does not have')));
    });

    it('demo shops 361 and 362 exist in the embedded default, announced in the log', async () => {
      const demo = await adminCall('GET', '/admin/shops/361');
      assert.equal(demo.body.test, true);
      assert.equal(demo.body.three_d_secure, false);
      const demo3ds = await adminCall('GET', '/admin/shops/362');
      assert.equal(demo3ds.body.test, true);
      assert.equal(demo3ds.body.three_d_secure, true);
      assert.equal((await gw.post('/transactions/payments', paymentRequest(), { auth: DEMO_3DS_SHOP })).status, 200);
      assert.ok(gw.logs.some((line) => line.includes('demo shops 361 and 362 are enabled')));
    });
  });

  describe(`admin API closed and demo shops off [${kind}]`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(kind, { adminToken: undefined, demoShops: false });
    });
    after(() => gw.close());

    it('the admin API is closed when no token is configured', async () => {
      for (const authorization of [undefined, 'Bearer ', 'Bearer undefined', `Bearer ${ADMIN_TOKEN}`]) {
        const response = await fetch(gw.url + '/admin/shops', { headers: authorization ? { authorization } : {} });
        assert.equal(response.status, 401, String(authorization));
      }
      const create = await fetch(gw.url + '/admin/shops', {
        method: 'POST',
        headers: { authorization: 'Bearer ', 'content-type': 'application/json' },
        body: JSON.stringify({ id: 7001 }),
      });
      assert.equal(create.status, 401);
      assert.equal(await gw.count('shops'), 0);
      assert.ok(gw.logs.some((line) => line.includes('admin API closed')));
    });

    it('no demo shops when demoShops is false', async () => {
      assert.equal(await gw.app.shops.find(361), undefined);
      assert.equal(await gw.app.shops.find(362), undefined);
      const answer = await gw.post('/transactions/payments', paymentRequest());
      assert.equal(answer.status, 401);
      assert.equal(answer.body.message, 'Invalid shop_id/secret_key.');
      assert.ok(!gw.logs.some((line) => line.includes('demo shops')));
    });
  });
}
