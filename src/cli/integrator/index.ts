import type { Command } from 'commander';
import { EXIT_HELP } from './connection.js';

/**
 * The integrator's commands of `ecomgate` (pay, authorize, capture, void, refund, payout, tx, balance,
 * listen): a merchant's view of a gateway over HTTP, next to the operator's commands. Only the command
 * definitions live here; their code (and the client package) loads when one of them runs, so the
 * operator's commands and `serve` do not depend on it.
 */

const connection = (command: Command): Command =>
  command
    .option('--base-url <url>', 'the gateway (ECOMGATE_BASE_URL, default http://127.0.0.1:8080)')
    .option('--shop-id <id>', 'shop id (ECOMGATE_SHOP_ID, default the demo shop 361)')
    .option('--secret-key <key>', 'shop secret key (ECOMGATE_SECRET_KEY; built in for the demo shops 361 and 362)')
    .option('--timeout <ms>', 'per-request timeout in milliseconds (default 60000)')
    .option('--json', 'print the raw JSON answer, one document per line')
    .option('--async', 'use async mode: submit, then follow the task with a progress display until its result')
    .option('--wait <seconds>', 'with --async: give up following after this long (default 120; exit 3)')
    .addHelpText('after', EXIT_HELP);

const mutating = (command: Command): Command =>
  command
    .option('--request-id <key>', 'idempotency key (RequestID): a retry with the same key answers the first result')
    .option('--no-duplicate-check', 'send duplicate_check: false (the same request within 30 s is not refused)');

const card = (command: Command, what: string): Command =>
  command
    .option('--card <number>', `${what} card number (test cards: 4200000000000000 succeeds, 4005550000000019 is declined)`)
    .option('--token <token>', 'a stored card token instead of --card')
    .option('--exp <MM/YY>', 'expiry (default: 12, three years from now)')
    .option('--holder <name>', 'card holder');

const lazy = () => import('./transactions.js');

export function registerIntegratorCommands(program: Command): void {
  for (const [name, operation, summary] of [
    ['pay', 'payment', 'charge a card (authorization and capture at once)'],
    ['authorize', 'authorization', 'hold funds on a card; capture or void it later'],
  ] as const) {
    mutating(
      card(connection(program.command(name).description(summary)), 'the')
        .requiredOption('--amount <minor>', 'amount in minor units (1000 is 10.00 EUR)')
        .requiredOption('--currency <code>', 'ISO 4217 currency, e.g. EUR')
        .option('--cvc <cvc>', 'card verification value')
        .option('--description <text>', 'order description')
        .option('--tracking-id <id>', 'your order id')
        .option('--notification-url <url>', 'webhook target for the final status')
        .option('--return-url <url>', 'where the customer returns after 3-D Secure')
        .option('--test', 'mark the transaction as a test'),
    ).action(async (flags) => (await lazy()).purchase(operation)(flags));
  }

  for (const [name, summary, reason] of [
    ['capture', 'capture (part of) an authorization', false],
    ['void', 'release an authorization (nothing captured yet)', false],
    ['refund', 'refund (part of) a payment or capture', true],
  ] as const) {
    const command = mutating(
      connection(program.command(name).description(summary))
        .requiredOption('--parent <uid>', 'uid of the parent transaction')
        .requiredOption('--amount <minor>', "amount in minor units (the currency is the parent's)")
        .option('--notification-url <url>', 'webhook target for the final status'),
    );
    if (reason) command.requiredOption('--reason <text>', 'why the money goes back');
    command.action(async (flags) => (await lazy()).child(name)(flags));
  }

  mutating(
    card(connection(program.command('payout').description('push funds to a recipient card')), "the recipient's")
      .requiredOption('--amount <minor>', 'amount in minor units')
      .requiredOption('--currency <code>', 'ISO 4217 currency')
      .option('--description <text>', 'description')
      .option('--tracking-id <id>', 'your id')
      .option('--notification-url <url>', 'webhook target for the final status')
      .option('--test', 'mark the transaction as a test'),
  ).action(async (flags) => (await lazy()).payout(flags));

  connection(program.command('tx').description('a transaction by uid (or the 10 newest with --tracking-id)'))
    .argument('[uid]', 'transaction uid')
    .option('--tracking-id <id>', 'list the transactions with this tracking id instead')
    .action(async (uid, flags) => (await lazy()).transaction(uid, flags));

  connection(program.command('balance').description("the merchant account's balance at the acquirer"))
    .requiredOption('--currency <code>', 'ISO 4217 currency')
    .action(async (flags) => (await lazy()).balance(flags));

  program
    .command('listen')
    .description('a local webhook receiver: verifies and prints every delivery, answers 200 to valid ones (Ctrl-C stops)')
    .option('--port <port>', 'port to listen on (default 9000; 0 picks a free one)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--path <path>', 'accept deliveries on this path only (default: any path)')
    .option('--public-key <key>', "the shop's webhook public key, base64 DER SPKI (ECOMGATE_PUBLIC_KEY)")
    .option('--admin-token <token>', 'fetch the public key from GET /admin/shops/{shop-id} of --base-url (ECOMGATE_ADMIN_TOKEN)')
    .option('--shop-id <id>', 'the shop whose webhooks arrive (ECOMGATE_SHOP_ID, default 361)')
    .option('--secret-key <key>', 'also check the Basic credentials against this secret key (ECOMGATE_SECRET_KEY)')
    .option('--base-url <url>', 'the gateway, for --admin-token (ECOMGATE_BASE_URL, default http://127.0.0.1:8080)')
    .option('--json', 'print each verified transaction as one JSON line (invalid deliveries go to stderr)')
    .addHelpText('after', '\nAt least one check is needed: a public key (given or fetched) and/or a secret key.')
    .action(async (_flags, command: Command) => (await import('./listen.js')).listen(command.optsWithGlobals()));
}
