/**
 * `npm run bench`: load-tests POST /api/v1/orders on the real gateway and on a
 * bare node:http + pg + ioredis baseline, under the same load, one after the
 * other, and reports the gateway's throughput as a fraction of the baseline's.
 * See bench/README.md for the knobs and how to read the output.
 *
 * This file is the orchestrator: it reads the configuration, runs the selected
 * phases in order (each in its own module: throughput.ts for baseline and
 * gateway, live.ts, latency.ts, pipeline.ts, propagation.ts,
 * reconciliation.ts), prints their reports and writes bench/results/latest.json.
 *
 * Runs from dist/ (the npm script builds first): dist/bench/run.js.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { killAllChildren } from './child';
import { log, Phase, READY_TIMEOUT_MS, readConfig, REDIS_KEY_PREFIX, RESULTS_DIR, ROOT, Side } from './config';
import { gatewayEntry, gatewayOverrides } from './gateway-spec';
import {
  checkLatency,
  LATENCY_EVENT_TIMEOUT_MS,
  LATENCY_MAX_S,
  LatencyResult,
  measureLatency,
  printLatencyReport,
} from './latency';
import { BurstResult, burstOrders, checkBurst, measureBurst, printBurstReport } from './burst';
import { checkFills, FillsResult, measureFills, printFillsReport } from './fills';
import { checkLive, LIVE_DRAIN_S, LIVE_SETTLE_S, LiveResult, measureLive, printLiveReport } from './live';
import { checkPipeline, measurePipeline, PipelineResult, printPipelineReport } from './pipeline';
import { checkPropagation, measurePropagation, printPropagationReport, PropagationResult } from './propagation';
import { checkReadPhase, measureReadPhase, printReadPhaseReport, ReadPhaseResult } from './pnl';
import { measureReconciliation } from './reconciliation';
import { checkTargets, DATABASE_NAME, printReport, runThroughputPhases, SideResult } from './throughput';
import { checkTwap, measureTwap, printTwapReport, readTwapConfig, TwapResult } from './twap';

async function main(): Promise<number> {
  const cfg = readConfig(process.env);
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) {
      killAllChildren();
      process.exit(130);
    }
    log('interrupted: stopping the load and the servers (again to kill at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllChildren);

  // Every step is bounded on its own; this is the backstop should one of them hang anyway.
  const perSide = READY_TIMEOUT_MS / 1000 + cfg.warmupS + cfg.durationS + 40;
  const perLatency = READY_TIMEOUT_MS / 1000 + LATENCY_MAX_S + LATENCY_EVENT_TIMEOUT_MS / 1000 + 40;
  const budgetS =
    30 +
    3 * perSide +
    LIVE_SETTLE_S +
    LIVE_DRAIN_S +
    perLatency +
    // burst: the backlog drains at the budget (BENCH_BURST_ORDERS / 600 minutes) plus slack; fills: resting, then the steps.
    (burstOrders(process.env) / 600) * 60 +
    180 +
    // pipeline: every run starts a gateway and waits for its reconciliation gate; propagation: two gateways and the rounds.
    2 * cfg.pipelineRounds * (perSide + 30) +
    (2 * READY_TIMEOUT_MS) / 1000 +
    60 +
    cfg.propagationRounds * 12 +
    // twap: plan creation, the window, start and stop.
    readTwapConfig(process.env).minutes * 60 +
    READY_TIMEOUT_MS / 1000 +
    120;
  setTimeout(() => {
    log(`gave up after ${budgetS} s: something hung; killing the servers`);
    killAllChildren();
    process.exit(3);
  }, budgetS * 1000).unref();

  log(`node ${process.version}, ${cpus().length} CPUs; database ${DATABASE_NAME}, Redis prefix ${REDIS_KEY_PREFIX}`);
  const runs = (phase: Phase) => !cfg.only || cfg.only === phase;
  const adminKey = randomBytes(16).toString('hex');
  let results: Partial<Record<Side, SideResult>> = {};
  if (runs('baseline') || runs('gateway')) results = await runThroughputPhases(cfg, adminKey, runs, abort.signal);
  let live: LiveResult | undefined;
  if (runs('live') && !abort.signal.aborted) live = await measureLive(cfg, adminKey, abort.signal);
  let latency: LatencyResult | { skipped: string } | undefined;
  if (runs('latency') && !abort.signal.aborted) latency = await measureLatency(cfg, adminKey, abort.signal);
  let burst: BurstResult | undefined;
  if (runs('burst') && !abort.signal.aborted) burst = await measureBurst(cfg, adminKey, abort.signal);
  let fills: FillsResult | undefined;
  if (runs('fills') && !abort.signal.aborted) fills = await measureFills(cfg, adminKey, abort.signal);
  let pipeline: PipelineResult | undefined;
  if (runs('pipeline') && !abort.signal.aborted) pipeline = await measurePipeline(cfg, adminKey, abort.signal);
  let propagation: PropagationResult | undefined;
  if (runs('propagation') && !abort.signal.aborted) {
    propagation = await measurePropagation(cfg, adminKey, abort.signal);
  }
  // One reconciliation run with BENCH_RECON_ORDERS open orders (no target; see bench/reconciliation.ts).
  if (runs('reconciliation') && !abort.signal.aborted) await measureReconciliation(cfg);
  let twap: TwapResult | undefined;
  if (runs('twap') && !abort.signal.aborted) twap = await measureTwap(cfg, adminKey, abort.signal);
  // The read side of strategies and P&L: only when asked for by name (seeding 100,000 fills takes a while).
  const reads: ReadPhaseResult[] = [];
  for (const phase of ['pnl', 'performance'] as const) {
    if (cfg.only === phase && !abort.signal.aborted)
      reads.push(await measureReadPhase(phase, cfg, adminKey, abort.signal));
  }

  const { ratio, checks } = checkTargets(results.baseline, results.gateway);
  if (results.baseline || results.gateway) printReport(cfg, results, ratio, checks);
  const liveChecks = checkLive(live, results.gateway);
  if (live) printLiveReport(cfg, live, liveChecks, results.gateway);
  const latencyCheck = checkLatency(latency);
  if (latency && latencyCheck) printLatencyReport(latency, latencyCheck);
  const burstChecks = checkBurst(burst);
  if (burst) printBurstReport(burst, burstChecks);
  const fillsChecks = checkFills(fills);
  if (fills) printFillsReport(fills, fillsChecks);
  const pipelineChecks = checkPipeline(pipeline);
  if (pipeline) printPipelineReport(pipeline, cfg, pipelineChecks);
  const propagationChecks = checkPropagation(propagation);
  if (propagation) printPropagationReport(propagation, propagationChecks);
  const twapChecks = checkTwap(twap);
  if (twap) printTwapReport(twap, twapChecks);
  const readChecks = reads.flatMap((r) => {
    const c = checkReadPhase(r);
    printReadPhaseReport(r, c);
    return c;
  });
  const allChecks = [
    ...(results.baseline || results.gateway ? checks : []),
    ...liveChecks,
    ...(latencyCheck ? [latencyCheck] : []),
    ...burstChecks,
    ...fillsChecks,
    ...pipelineChecks,
    ...propagationChecks,
    ...twapChecks,
    ...readChecks,
  ];

  // An interrupted run is partial: keep the last complete one on disk.
  if (abort.signal.aborted) return 130;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'latest.json');
  const report = {
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    config: { durationS: cfg.durationS, warmupS: cfg.warmupS, connections: cfg.connections, only: cfg.only ?? null },
    gatewayEntry: relative(ROOT, gatewayEntry()),
    gatewayOverrides: gatewayOverrides(),
    baseline: results.baseline ?? null,
    gateway: results.gateway ?? null,
    ratio,
    // The DRY_RUN gateway against the baseline, as before the live phases existed.
    targets: checks,
    liveSim: live ?? null,
    liveTargets: liveChecks,
    fillToEventLatency: latency ?? null,
    fillToEventTarget: latencyCheck ?? null,
    burst: burst ?? null,
    burstTargets: burstChecks,
    fills: fills ?? null,
    fillsTargets: fillsChecks,
    pipeline: pipeline ?? null,
    pipelineTargets: pipelineChecks,
    propagation: propagation ?? null,
    propagationTargets: propagationChecks,
    twap: twap ?? null,
    twapTargets: twapChecks,
    reads,
    readTargets: readChecks,
    pass: allChecks.every((c) => c.pass !== false),
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${relative(process.cwd(), file)}\n`);
  if (cfg.cpuProfile)
    process.stdout.write(`CPU profiles in ${relative(process.cwd(), join(RESULTS_DIR, 'profiles'))}\n`);

  // Figures from a gateway that mostly failed are not a measurement; say so in the exit code.
  for (const gw of [results.gateway, live, ...(pipeline?.runs ?? [])]) {
    if (gw && (gw.requests === 0 || gw.errors * 2 > gw.requests)) return 1;
  }
  return cfg.strict && !report.pass ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    killAllChildren();
    process.exit(2);
  },
);
