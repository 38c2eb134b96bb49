import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe } from 'node:test';
import { it, until } from './support/deadline.js';
import { createLogger } from '../src/logger.js';
import { PeriodicJob } from '../src/workers/periodicJob.js';

/**
 * The background jobs (in-doubt resolver, expiry and retention sweepers): runs never overlap, a run by
 * hand waits for the timer's run in flight, stop waits for it too, and a failure is logged with the
 * job's name instead of stopping the job.
 */

/** A run that holds until released, counting how many are in flight at once. */
function heldRuns() {
  const state = { started: 0, inFlight: 0, most: 0, release: [] as (() => void)[] };
  const run = async () => {
    state.started++;
    state.inFlight++;
    state.most = Math.max(state.most, state.inFlight);
    await new Promise<void>((resolve) => state.release.push(resolve));
    state.inFlight--;
    return state.started;
  };
  return { state, run };
}

function logLines() {
  const lines: string[] = [];
  return {
    lines,
    log: createLogger(
      'info',
      new Writable({
        write: (chunk, _e, cb) => {
          lines.push(chunk.toString());
          cb();
        },
      }),
    ),
  };
}

describe('PeriodicJob', () => {
  it('a run by hand waits for the one in flight; stop waits for it and ends the timer', async () => {
    const { state, run } = heldRuns();
    const job = new PeriodicJob({ name: 'test job', intervalMs: 1, run, log: logLines().log });
    job.start();
    await until(
      () => state.started === 1,
      () => 'the timer never ran the job',
    );
    const byHand = job.runNow();
    assert.equal(state.started, 1, 'the run by hand starts only after the one in flight');
    state.release.shift()!();
    await until(
      () => state.started === 2,
      () => 'the run by hand never started',
    );
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await Promise.resolve();
    assert.equal(stopped, false, 'stop waits for the run in flight');
    state.release.shift()!();
    assert.equal(await byHand, 2);
    await stopping;
    assert.equal(state.most, 1, 'never two runs at once');
    assert.equal(state.started, 2, 'no run after stop');
  });

  it('a failed run is logged with the job name and the job goes on', async () => {
    const { lines, log } = logLines();
    let runs = 0;
    const job = new PeriodicJob({
      name: 'failing job',
      intervalMs: 1,
      log,
      run: async () => {
        runs++;
        if (runs === 1) throw new Error('simulated failure');
      },
    });
    job.start();
    await until(
      () => runs >= 2,
      () => 'the job stopped after its failure',
    );
    await job.stop();
    const failure = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'failing job failed');
    assert.ok(failure, lines.join('\n'));
    assert.equal(failure.job, 'failing job');
    assert.equal(failure.err.message, 'simulated failure');
  });
});
