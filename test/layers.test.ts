import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { it } from './support/deadline.js';

/**
 * Layers (issue 13): outside src/store/ no code names a table or writes SQL. The store is the one place
 * where a query's locking and its dialects are decided and commented; everything else calls a function
 * whose name says what it does. This reads every `.ts` file under src/ outside src/store/ and names file
 * and line of each Kysely query builder call, `sql` template or helper, value import of 'kysely', and
 * string that reads as SQL on a table. Comments are not looked at: a comment may name a table.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');
const STORE = join(SRC, 'store');

/** Every table the migrations ever created (dropped ones too: naming one outside the store is as wrong). */
function tableNames(): string[] {
  const migrations = readFileSync(join(STORE, 'migrations.ts'), 'utf8');
  return [...new Set([...migrations.matchAll(/createTable\(\s*'([a-z_]+)'/g)].map((match) => match[1]))];
}

const BUILDERS = new Set(['selectFrom', 'insertInto', 'updateTable', 'deleteFrom', 'replaceInto', 'mergeInto']);

interface Offence {
  file: string;
  line: number;
  what: string;
}

/** What `source` (the text of `file`) does that only src/store/ may do. */
function offencesIn(file: string, source: string, tables: readonly string[]): Offence[] {
  const sqlOnTable = new RegExp(
    `\\b(?:from|into|update|join|table|truncate)\\s+(?:only\\s+)?(?:"?\\w+"?\\.)?"?(${tables.join('|')})"?(?![\\w])`,
    'i',
  );
  const parsed = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Offence[] = [];
  const report = (node: ts.Node, what: string, offset = node.getStart(parsed)) =>
    found.push({ file, line: parsed.getLineAndCharacterOfPosition(offset).line + 1, what });
  const isKysely = (specifier: ts.Expression | undefined) => specifier !== undefined && ts.isStringLiteral(specifier) && specifier.text === 'kysely';
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && isKysely(node.moduleSpecifier) && !node.importClause?.isTypeOnly) {
      report(node, "import from 'kysely' other than `import type`");
    } else if (ts.isExportDeclaration(node) && isKysely(node.moduleSpecifier) && !node.isTypeOnly) {
      report(node, "export from 'kysely' other than `export type`");
    } else if (
      ts.isCallExpression(node) &&
      node.arguments.length > 0 &&
      isKysely(node.arguments[0]) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || node.expression.getText(parsed) === 'require')
    ) {
      report(node, "dynamic import of 'kysely'");
    } else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && BUILDERS.has(node.expression.name.text)) {
      report(node.expression.name, `Kysely query builder call ${node.expression.name.text}(`);
    } else if (ts.isPropertyAccessExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'schema') {
      report(node.expression.name, 'Kysely schema builder (.schema.)');
    } else if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && node.tag.text === 'sql') {
      report(node, 'sql`` template');
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'sql') {
      report(node, `Kysely sql helper sql.${node.name.text}`);
    } else if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) {
      const text = ts.isTemplateExpression(node)
        ? [node.head.text, ...node.templateSpans.map((span) => `\${…}${span.literal.text}`)].join('')
        : node.text;
      const match = sqlOnTable.exec(text);
      if (match) {
        // The line of the match itself, for a statement spread over lines.
        const before = text.slice(0, match.index).split('\n').length - 1;
        const line = parsed.getLineAndCharacterOfPosition(node.getStart(parsed)).line + 1 + before;
        found.push({ file, line, what: `SQL on table ${match[1]} in a string ("${match[0].replace(/\s+/g, ' ')}")` });
      }
      if (ts.isTemplateExpression(node)) {
        for (const span of node.templateSpans) visit(span.expression);
      }
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(parsed);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === STORE ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const posix = (path: string) => relative(ROOT, path).split(sep).join('/');

describe('layers: SQL and table names only in src/store/', () => {
  const tables = tableNames();
  const offences = sourceFiles(SRC).flatMap((path) => offencesIn(posix(path), readFileSync(path, 'utf8'), tables));

  it('knows the tables from the migrations', () => {
    for (const table of ['transactions', 'cards', 'shops', 'async_tasks', 'rate_limits', 'auth_failures', 'vault_secrets'])
      assert.ok(tables.includes(table), table);
  });

  it('no file outside src/store/ writes a query or names a table in SQL', () => {
    assert.deepEqual(
      offences.map((offence) => `${offence.file}:${offence.line}: ${offence.what}`),
      [],
    );
  });

  it('the check catches each kind of offence, and passes what is allowed', () => {
    const offencesOf = (source: string) => offencesIn('sample.ts', source, tables).map((offence) => `${offence.line}: ${offence.what}`);
    assert.deepEqual(offencesOf("import { sql } from 'kysely';"), ["1: import from 'kysely' other than `import type`"]);
    assert.deepEqual(offencesOf("import { type Kysely } from 'kysely';"), ["1: import from 'kysely' other than `import type`"]);
    assert.deepEqual(offencesOf("export { sql } from 'kysely';"), ["1: export from 'kysely' other than `export type`"]);
    assert.deepEqual(offencesOf("const k = await import('kysely');"), ["1: dynamic import of 'kysely'"]);
    assert.deepEqual(offencesOf("db.selectFrom('x').selectAll();\n\ntrx\n  .updateTable('y');"), [
      '1: Kysely query builder call selectFrom(',
      '4: Kysely query builder call updateTable(',
    ]);
    assert.deepEqual(offencesOf('store.db.insertInto(t); store.db.deleteFrom(t);'), [
      '1: Kysely query builder call insertInto(',
      '1: Kysely query builder call deleteFrom(',
    ]);
    assert.deepEqual(offencesOf('await db.schema.createTable(t).execute();'), ['1: Kysely schema builder (.schema.)']);
    assert.deepEqual(offencesOf('await sql`select 1`.execute(db);'), ['1: sql`` template']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text fed to the check under test
    assert.deepEqual(offencesOf('await sql<{ n: number }>`select ${x}`.execute(db);'), ['1: sql`` template']);
    assert.deepEqual(offencesOf('await sql.raw(text).execute(db);'), ['1: Kysely sql helper sql.raw']);
    assert.deepEqual(offencesOf("pool.query('delete from rate_limits where window_start < $1', [t]);"), [
      '1: SQL on table rate_limits in a string ("from rate_limits")',
    ]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text fed to the check under test
    assert.deepEqual(offencesOf('const q = `\n  insert into auth_failures (subject) values (${s})`;'), [
      '2: SQL on table auth_failures in a string ("into auth_failures")',
    ]);
    assert.deepEqual(offencesOf('const q = "UPDATE \\"cards\\" SET x = 1";'), ['1: SQL on table cards in a string ("UPDATE "cards"")']);
    assert.deepEqual(offencesOf("q('select 1 from public.shops');"), ['1: SQL on table shops in a string ("from public.shops")']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text fed to the check under test
    assert.deepEqual(offencesOf('f(`${a}`, `select * from ${shops ? `webhook_deliveries` : "x"}`);'), []);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text fed to the check under test
    assert.deepEqual(offencesOf('f(`${a}`, `${`select * from transactions`}`);'), ['1: SQL on table transactions in a string ("from transactions")']);
    // Allowed: type imports, the store's functions, the store's named statements by name, table names in
    // comments and in words that are not SQL, a schema option.
    assert.deepEqual(
      offencesOf(
        [
          "import type { Kysely } from 'kysely';",
          "import type { Store } from '../store/db.js';",
          '// select * from transactions where uid = $1',
          '/** delete from cards */',
          'const row = await findTransaction(ctx.store.sql, shop.id, uid);',
          "log.info({ cards: n }, 'cards stored with installation-wide stamps now carry their shop\\'s own');",
          "const path = '/transactions/payments';",
          'const options = { schema: config.schema };',
        ].join('\n'),
      ),
      [],
    );
  });
});
