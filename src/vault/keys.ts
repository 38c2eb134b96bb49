import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Dialect } from '../store/db.js';

export interface MasterKey {
  /** Short fingerprint stored next to every ciphertext, so old keys keep decrypting after rotation. */
  id: string;
  key: Buffer;
}

function toMasterKey(base64: string): MasterKey {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== 32) throw new Error('ECOMGATE_MASTER_KEY must hold 32-byte keys in base64 (openssl rand -base64 32)');
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
}

/**
 * `ECOMGATE_MASTER_KEY` is one key, or several separated by commas: the first encrypts, all decrypt.
 * Rotation is: put the new key first, keep the old ones after it, run `ecomgate vault rotate`, then drop
 * the old ones.
 */
export function parseMasterKeys(value: string): MasterKey[] {
  const keys = value
    .split(',')
    .filter((part) => part.trim() !== '')
    .map(toMasterKey);
  if (keys.length === 0) throw new Error('ECOMGATE_MASTER_KEY is empty');
  return keys;
}

/** Embedded default only: a development key kept in the data folder, created on first start. */
export function loadOrCreateDevKey(path: string): { keys: MasterKey[]; created: boolean } {
  if (existsSync(path)) return { keys: parseMasterKeys(readFileSync(path, 'utf8')), created: false };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  return { keys: parseMasterKeys(readFileSync(path, 'utf8')), created: true };
}

/**
 * The keys a gateway opens its vault with. Configured keys win. Without them the embedded default keeps a
 * development key beside its database (created on first start, announced as such); PostgreSQL is
 * production, where a key on the server's disk would sit beside the data it protects: refuse to start.
 */
export function masterKeysFor(configured: string | undefined, store: { dialect: Dialect; target: string }, log: Logger): MasterKey[] {
  if (configured) return parseMasterKeys(configured);
  if (store.dialect === 'postgres') throw new Error('ECOMGATE_MASTER_KEY is required with PostgreSQL (32 bytes in base64: openssl rand -base64 32)');
  const path = store.target === ':memory:' ? resolve('data', 'master.key') : resolve(dirname(store.target), 'master.key');
  const { keys, created } = loadOrCreateDevKey(path);
  log.warn({ path, created }, 'using a development master key kept in the data folder; set ECOMGATE_MASTER_KEY in production');
  return keys;
}
