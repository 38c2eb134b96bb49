import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import { statement } from '../src/store/sql.js';
import { it } from './support/deadline.js';
import { POSTGRES_URL } from './support/gateway.js';
import { needs } from './support/services.js';

/**
 * The store's statement layer (src/store/sql.ts) on real databases: named statements, PostgreSQL's
 * pipelined transactions and shared single-statement commits, SQLite's parameter mapping and its reads
 * waiting for an open batch. Payments exercise all of it end to end (operations, payments, children, chaos
 * tests); these pin the properties the payment path relies on.
 */

const createScratch = statement('test.scratch_create', 'create table if not exists scratch (id text primary key, n integer not null, note text)');
const insertScratch = statement('test.scratch_insert', 'insert into scratch (id, n, note) values ($1, $2, $3)');
const countScratch = statement('test.scratch_count', 'select count(*) as c from scratch');
const findScratch = statement('test.scratch_find', 'select id, n, note from scratch where id = $1');
// The same parameter twice and out of order: SQLite's `?` placeholders must get them right.
const reordered = statement('test.reordered', "select $2 || '-' || $1 || '-' || $2 as joined");
const failing = statement('test.failing', 'select 1 / (n - n) as boom from scratch where id = $1');
const preparedNames = statement('test.prepared_names', 'select name from pg_prepared_statements');

async function postgresStore(options: { namedStatements?: boolean } = {}): Promise<Store> {
  const schema = `store_test_${randomBytes(4).toString('hex')}`;
  const store = await openStore({ url: POSTGRES_URL, schema, ...options });
  await store.write((tx) => tx.run(createScratch));
  const close = store.close.bind(store);
  store.close = async () => {
    await sql`drop schema ${sql.id(schema)} cascade`.execute(store.db);
    await close();
  };
  return store;
}

const countOf = async (store: Store) => Number((await store.sql.one<{ c: number | string }>(countScratch))!.c);

describe('store statements [postgres]', async () => {
  const skip = await needs('postgres');
  let store: Store;
  before(async () => {
    if (!skip.skip) store = await postgresStore();
  });
  after(() => store?.close());

  it('a transaction whose statements do not wait for each other costs one round trip, BEGIN and COMMIT included', { ...skip }, async () => {
    const before = { ...store.queryCounts };
    await store.transaction(async (tx) => {
      const first = tx.run(insertScratch, ['rt-1', 1, null]);
      const second = tx.run(insertScratch, ['rt-2', 2, null]);
      tx.commitWithLast();
      await Promise.all([first, second]);
    });
    assert.deepEqual(
      { statements: store.queryCounts.statements - before.statements, roundTrips: store.queryCounts.roundTrips - before.roundTrips },
      { statements: 2, roundTrips: 1 },
    );
    assert.equal((await store.sql.one<{ n: number }>(findScratch, ['rt-2']))!.n, 2);
  });

  it('a statement that fails inside a pipelined transaction rolls back every statement of it, the ones sent after it too', { ...skip }, async () => {
    await store.write((tx) => tx.run(insertScratch, ['zero', 0, null]));
    const count = await countOf(store);
    await assert.rejects(
      store.transaction(async (tx) => {
        const written = tx.run(insertScratch, ['pipe-1', 1, null]);
        const boom = tx.all(failing, ['zero']);
        const after = tx.run(insertScratch, ['pipe-2', 2, null]);
        tx.commitWithLast();
        await Promise.allSettled([written, boom, after]);
      }),
      /division by zero/,
    );
    assert.equal(await countOf(store), count);
    // The connection went back to the pool usable.
    assert.equal(await countOf(store), count);
  });

  it('a work that throws after its statements were answered leaves nothing behind', { ...skip }, async () => {
    const count = await countOf(store);
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.run(insertScratch, ['thrown', 1, null]);
        throw new Error('refused by the work');
      }),
      /refused by the work/,
    );
    assert.equal(await countOf(store), count);
  });

  it('concurrent single-statement writes share commits, and one that fails gets its own error while the others land', { ...skip }, async () => {
    const before = { ...store.queryCounts };
    const ids = Array.from({ length: 20 }, (_, i) => `shared-${i}`);
    await Promise.all(ids.map((id, i) => store.write((tx) => tx.run(insertScratch, [id, i, null]))));
    // One batch: BEGIN, the 20 inserts and COMMIT in one write (instead of 20 round trips and 20 commits).
    assert.deepEqual(
      { statements: store.queryCounts.statements - before.statements, roundTrips: store.queryCounts.roundTrips - before.roundTrips },
      { statements: 20, roundTrips: 1 },
    );
    for (const [i, id] of ids.entries()) assert.equal((await store.sql.one<{ n: number }>(findScratch, [id]))!.n, i);

    // A duplicate key in the middle of a burst: PostgreSQL aborts the batch, which is retried work by work.
    const burst = ['again-0', 'again-1', 'shared-3', 'again-2'].map((id) => store.write((tx) => tx.run(insertScratch, [id, 7, null])));
    const outcomes = await Promise.allSettled(burst);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /duplicate key/);
    for (const id of ['again-0', 'again-1', 'again-2']) assert.equal((await store.sql.one<{ n: number }>(findScratch, [id]))!.n, 7);
    assert.equal((await store.sql.one<{ n: number }>(findScratch, ['shared-3']))!.n, 3);
  });

  it('reads issued together leave in one round trip and each gets its own answer', { ...skip }, async () => {
    await store.write((tx) => tx.run(insertScratch, ['read-a', 10, 'a']));
    await store.write((tx) => tx.run(insertScratch, ['read-b', 20, 'b']));
    const before = store.queryCounts.roundTrips;
    const [a, b, none] = await Promise.all([
      store.sql.one(findScratch, ['read-a']),
      store.sql.one(findScratch, ['read-b']),
      store.sql.one(findScratch, ['read-none']),
    ]);
    assert.equal(store.queryCounts.roundTrips - before, 1);
    assert.deepEqual([a, b, none], [{ id: 'read-a', n: 10, note: 'a' }, { id: 'read-b', n: 20, note: 'b' }, undefined]);
  });

  it('named statements are prepared on the connection; with them turned off (a pooler without prepared statements) none is', {
    ...skip,
  }, async () => {
    const namesSeen = async (target: Store) =>
      target.transaction(async (tx) => {
        await tx.one(findScratch, ['read-a']);
        return (await tx.all<{ name: string }>(preparedNames)).map((row) => row.name);
      });
    assert.ok((await namesSeen(store)).includes('test.scratch_find'));
    const unnamed = await postgresStore({ namedStatements: false });
    try {
      await unnamed.write((tx) => tx.run(insertScratch, ['u-1', 1, null]));
      assert.deepEqual(await namesSeen(unnamed), []);
      assert.equal((await unnamed.sql.one<{ n: number }>(findScratch, ['u-1']))!.n, 1);
    } finally {
      await unnamed.close();
    }
  });

  it('maps a parameter used twice and out of order', { ...skip }, async () => {
    assert.deepEqual(await store.sql.one(reordered, ['a', 'b']), { joined: 'b-a-b' });
  });
});

describe('store statements [sqlite]', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ecomgate-store-'));
    store = await openStore({ url: `sqlite:${join(dir, 'store.db')}` });
    await store.write((tx) => tx.run(createScratch));
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps a parameter used twice and out of order onto SQLite placeholders', async () => {
    assert.deepEqual(await store.sql.one(reordered, ['a', 'b']), { joined: 'b-a-b' });
  });

  it('a read issued while a batch is open waits for its commit: it never sees rows not yet durable', async () => {
    // A second connection sees only committed rows: what the read saw must already be there.
    const outside = new SqliteDatabase(join(dir, 'store.db'), { readonly: true });
    try {
      let read: Promise<{ row: unknown; committed: boolean }> | undefined;
      await store.transaction(async (tx) => {
        await tx.run(insertScratch, ['open-1', 1, null]);
        // Issued from outside the work while the batch's transaction is open on the one connection.
        read = store.sql
          .one(findScratch, ['open-1'])
          .then((row) => ({ row, committed: outside.prepare('select id from scratch where id = ?').get('open-1') !== undefined }));
        await tx.run(insertScratch, ['open-2', 2, null]);
      });
      assert.deepEqual(await read, { row: { id: 'open-1', n: 1, note: null }, committed: true });
    } finally {
      outside.close();
    }
  });

  it('a work that fails rolls back only itself; the works sharing its commit land', async () => {
    const count = await countOf(store);
    const outcomes = await Promise.allSettled([
      store.transaction((tx) => tx.run(insertScratch, ['s-1', 1, null])),
      store.transaction(async (tx) => {
        await tx.run(insertScratch, ['s-2', 2, null]);
        throw new Error('refused');
      }),
      store.transaction((tx) => tx.run(insertScratch, ['s-3', 3, null])),
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(await countOf(store), count + 2);
    assert.equal(await store.sql.one(findScratch, ['s-2']), undefined);
  });
});
