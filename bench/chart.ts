import { writeFileSync } from 'node:fs';
import type { LoadFigures } from './load.js';
import type { StoreKind } from './options.js';
import { type BenchResults, type StoreResults, TARGETS } from './report.js';

/**
 * The results as an SVG bar chart, written by hand (no plotting dependency): per store, each
 * request/answer scenario's rate as a ratio to the echo baseline of the same run, its p99 beside it, and
 * this round's target (bench/report.ts) as a mark where one applies.
 */

interface Bar {
  label: string;
  ratio: number;
  text: string;
  target?: number;
}

const WIDTH = 960;
const LABEL_WIDTH = 270;
const BAR_WIDTH = 440;
const ROW = 22;
const integer = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function loadBar(label: string, figures: LoadFigures | undefined, echoRps: number, target?: number): Bar[] {
  if (!figures) return [];
  return [{ label, ratio: figures.rps / echoRps, text: `${integer(figures.rps)}/s · p99 ${integer(figures.p99Ms)} ms`, target }];
}

function barsOf(store: StoreKind, measured: StoreResults, echoRps: number): Bar[] {
  const inserts = measured.storeInsert;
  const pgbench = measured.pgbench;
  const targets = TARGETS[store];
  // On PostgreSQL the sync payment is judged against pgbench: its mark is that share of pgbench's rate.
  const syncTarget = 'syncVersusEcho' in targets ? targets.syncVersusEcho : pgbench ? (targets.syncVersusPgbench * pgbench.tps) / echoRps : undefined;
  return [
    ...(inserts
      ? [
          {
            label: 'store: single-row durable insert',
            ratio: inserts.rps / echoRps,
            text: `${integer(inserts.rps)}/s · p99 ${inserts.p99Ms.toFixed(1)} ms`,
          },
        ]
      : []),
    ...(pgbench ? [{ label: 'pgbench simple-update', ratio: pgbench.tps / echoRps, text: `${integer(pgbench.tps)} tps` }] : []),
    ...loadBar('graphile-worker peer, submit', measured.graphilePeer?.submit?.median, echoRps),
    ...loadBar('async submit', measured.asyncSubmit?.median, echoRps),
    ...loadBar('async submit, workers idle', measured.asyncAcceptOnly?.median, echoRps, targets.acceptVersusEcho),
    ...loadBar('async submit, --cluster 2', measured.clusterSubmit?.median, echoRps),
    ...loadBar('sync payment', measured.syncPayment?.median, echoRps, syncTarget),
    ...loadBar('sync authorization + capture', measured.authorizationCapture?.median, echoRps),
    ...loadBar('sync refund', measured.refund?.median, echoRps),
    ...loadBar('status poll', measured.statusPoll?.median, echoRps, targets.pollVersusEcho),
    ...loadBar('query by uid', measured.queryByUid?.median, echoRps),
  ];
}

export function renderChart(results: BenchResults): string {
  const echo = results.echo.median;
  const groups: [string, Bar[]][] = [
    ['baseline', [{ label: 'bare Fastify echo', ratio: 1, text: `${integer(echo.rps)}/s · p99 ${integer(echo.p99Ms)} ms` }]],
  ];
  for (const [store, measured] of Object.entries(results.stores) as [StoreKind, StoreResults][])
    groups.push([store, barsOf(store, measured, echo.rps)]);
  const x = (ratio: number) => LABEL_WIDTH + Math.min(ratio, 1) * BAR_WIDTH;
  const parts: string[] = [];
  let y = 74;
  for (const [title, bars] of groups) {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escapeXml(title)}</text>`);
    y += 8;
    for (const bar of bars) {
      const met = bar.target === undefined ? undefined : bar.ratio >= bar.target;
      const fill = met === undefined ? '#8aa4c8' : met ? '#5a9e6f' : '#d08a4e';
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y + 3}" width="${Math.max(1, x(bar.ratio) - LABEL_WIDTH).toFixed(1)}" height="${ROW - 6}" fill="${fill}"/>`,
        // Beyond the target's mark, so the mark never crosses the figures.
        `<text x="${Math.max(x(bar.ratio), bar.target === undefined ? 0 : x(bar.target)) + 6}" y="${y + 15}">${bar.ratio.toFixed(2)}× · ${escapeXml(bar.text)}</text>`,
      );
      if (bar.target !== undefined) {
        parts.push(`<line x1="${x(bar.target)}" x2="${x(bar.target)}" y1="${y + 1}" y2="${y + ROW - 1}" stroke="#b0302a" stroke-width="2"/>`);
      }
      y += ROW;
    }
    y += 14;
  }
  const axis = [0, 0.25, 0.5, 0.75, 1].map(
    (ratio) =>
      `<line x1="${x(ratio)}" x2="${x(ratio)}" y1="56" y2="${y - 10}" stroke="#ddd"/>` +
      `<text x="${x(ratio)}" y="${y + 4}" text-anchor="middle" fill="#666">${ratio}× echo</text>`,
  );
  const { machine, options } = results;
  const caption =
    `ecomgate benchmark, ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC: ${machine.cores} cores, Node ${machine.node}, ` +
    `${options.connections} connections, ${options.runs} × ${options.durationSec} s per target scenario (medians); ` +
    `load average ${machine.loadAverageBefore.map((value) => value.toFixed(1)).join(' ')} at the start`;
  const height = y + 36;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Throughput as a ratio to a bare Fastify echo in the same run; p99 latency at the right</text>`,
    `<text x="10" y="36" fill="#555">${escapeXml(caption)}.</text>`,
    `<text x="10" y="52" fill="#555">Red mark: this round's target (green bar: met, orange: not met).</text>`,
    ...axis,
    ...parts,
    `<text x="10" y="${height - 8}" fill="#555">Bars end at 1× echo. Rates are successful requests per second; authorization + capture counts both requests.</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** Writes the chart to `path`; answers the path. */
export function writeChart(results: BenchResults, path: string): string {
  writeFileSync(path, renderChart(results));
  return path;
}
