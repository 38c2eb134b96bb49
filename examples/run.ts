/**
 * `npm run example`: the embedded gateway (SQLite in a temporary folder, the demo shops) and the example
 * merchant (examples/merchant/server.ts) in one process. Open the printed shop URL and pay.
 *
 *   MERCHANT_PORT     the shop's port (default 3000; 0 picks a free one)
 *   ECOMGATE_PORT     the embedded gateway's port (default 8080; 0 picks a free one)
 *   ECOMGATE_BASE_URL use a gateway that is already running instead of the embedded one; then give the
 *                     shop's key as ECOMGATE_PUBLIC_KEY, or ECOMGATE_ADMIN_TOKEN to fetch it
 *   ECOMGATE_SHOP_ID / ECOMGATE_SECRET_KEY  the shop (default: demo shop 362, 3-D Secure on)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../src/app.js';
import { readConfig } from '../src/config.js';
import { shopView } from '../src/operator/shops.js';
import { createMerchant } from './merchant/server.js';

const DEMO_3DS_SHOP = { id: '362', secret: '9ad8ad735945919845b9a1996af72d886ab43d3375502256dbf8dd16bca59a4e' };

function port(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return parsed;
}

function addressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'EADDRINUSE';
}

async function fetchPublicKey(baseUrl: string, shopId: string, adminToken: string): Promise<string> {
  const response = await fetch(`${baseUrl}/admin/shops/${shopId}`, { headers: { authorization: `Bearer ${adminToken}` } });
  const body = (await response.json().catch(() => ({}))) as { public_key?: string };
  if (response.status !== 200 || !body.public_key) throw new Error(`GET ${baseUrl}/admin/shops/${shopId} answered HTTP ${response.status}`);
  return body.public_key;
}

async function main(): Promise<void> {
  const env = process.env;
  const shopId = env.ECOMGATE_SHOP_ID || DEMO_3DS_SHOP.id;
  const secretKey = env.ECOMGATE_SECRET_KEY || (shopId === DEMO_3DS_SHOP.id ? DEMO_3DS_SHOP.secret : undefined);
  if (!secretKey) throw new Error(`set ECOMGATE_SECRET_KEY for shop ${shopId}`);

  let app: App | undefined;
  let dataDir: string | undefined;
  let gatewayUrl: string;
  let publicKey: string;
  if (env.ECOMGATE_BASE_URL) {
    gatewayUrl = env.ECOMGATE_BASE_URL.replace(/\/+$/, '');
    if (env.ECOMGATE_PUBLIC_KEY) publicKey = env.ECOMGATE_PUBLIC_KEY;
    else if (env.ECOMGATE_ADMIN_TOKEN) publicKey = await fetchPublicKey(gatewayUrl, shopId, env.ECOMGATE_ADMIN_TOKEN);
    else throw new Error(`set ECOMGATE_PUBLIC_KEY (the webhook public key of shop ${shopId}) or ECOMGATE_ADMIN_TOKEN to fetch it`);
  } else {
    // The embedded gateway: a throw-away SQLite database, so the example never touches ./data.
    dataDir = mkdtempSync(join(tmpdir(), 'ecomgate-example-'));
    const config = readConfig(
      {},
      {
        host: '127.0.0.1',
        port: port('ECOMGATE_PORT', 8080),
        databaseUrl: `sqlite:${join(dataDir, 'ecomgate.db')}`,
        masterKey: randomBytes(32).toString('base64'),
        demoShops: true,
        logLevel: env.ECOMGATE_LOG_LEVEL || 'error',
      },
    );
    app = await createApp({ config });
    try {
      gatewayUrl = await app.listen();
    } catch (error) {
      await app.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
      if (addressInUse(error))
        throw new Error(
          `port ${config.port} is in use: set ECOMGATE_PORT=0 (or another port), or point ECOMGATE_BASE_URL at the gateway already running there`,
        );
      throw error;
    }
    const shop = await app.shops.find(Number(shopId));
    if (!shop) throw new Error(`the embedded gateway has no shop ${shopId}`);
    publicKey = shopView(shop).public_key as string;
  }

  const merchant = createMerchant({ gatewayUrl, shopId, secretKey, publicKey, log: (line) => console.log(`[merchant] ${line}`) });
  let shopUrl: string;
  try {
    shopUrl = await merchant.listen(port('MERCHANT_PORT', 3000));
  } catch (error) {
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (addressInUse(error)) throw new Error(`port ${env.MERCHANT_PORT || 3000} is in use: set MERCHANT_PORT=0 (or another port)`);
    throw error;
  }
  console.log(`gateway: ${gatewayUrl}${app ? ' (embedded, throw-away SQLite database)' : ''}, shop ${shopId}`);
  console.log(`Open the shop: ${shopUrl}/`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await merchant.close();
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`example: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
