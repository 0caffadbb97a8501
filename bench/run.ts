import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabaseHandle } from '../src/platform/db/database.js';
import { httpGet, httpPost, type ChildServer } from './lib/children.js';
import { ensureDatabase, openDatabase, prepareDatabase, serverVersion } from './lib/database.js';
import { measureEmailThroughput } from './lib/email-throughput.js';
import { measure, problemsOf, type LoadResult } from './lib/load.js';
import { measureOverload } from './lib/overload.js';
import { measurePgbench, pgbenchFor, preparePgbench } from './lib/pgbench.js';
import {
  bestOf,
  describeMachine,
  printReport,
  printStartup,
  RSS_TARGET_MB,
  selectionOf,
  SETTLE_MS,
  writeReadme,
  writeResults,
  type BenchReport,
  type MemoryReport,
  type ScenarioReport,
} from './lib/report.js';
import { readSettings, SettingsError, type BenchSettings } from './lib/settings.js';
import {
  BENCH_JWT_SECRET,
  measureEmbeddedStartup,
  startBaseline,
  startStratum,
} from './lib/servers.js';
import {
  scenarios as allScenarios,
  type Baseline,
  type LoadPlan,
  type Scenario,
  type ScenarioContext,
} from './scenarios/index.js';

/** `npm run bench`: Stratum against bare baselines, scenario by scenario. See bench/README.md. */

const log = (line: string) => process.stderr.write(`${line}\n`);
/** The BENCH_SCENARIOS value that runs the start-up timings alone. */
const STARTUP_ONLY = 'startup';
const EMAIL_JOBS = 2_000;

function settingsOrExit(): BenchSettings {
  try {
    return readSettings();
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    log(`bench: ${err.message}`);
    process.exit(2);
  }
}

function selectedScenarios(only: string[]): Scenario[] {
  const unknown = only.filter((name) => !allScenarios.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  return only.length ? allScenarios.filter((s) => only.includes(s.name)) : allScenarios;
}

/** Both servers must give the same data in the same envelope, or the comparison means nothing. */
async function checkSameAnswer(
  stratum: ChildServer,
  baseline: ChildServer,
  { samplePath: path, headers, sameBytes }: LoadPlan,
) {
  if (sameBytes) {
    const [ours, theirs] = await Promise.all(
      [stratum, baseline].map((server) =>
        httpPost(server.baseUrl + sameBytes.path, sameBytes.headers, sameBytes.body),
      ),
    );
    if (ours!.status !== 200 || theirs!.status !== 200 || ours!.body !== theirs!.body) {
      throw new Error(
        `POST ${sameBytes.path} differs:\n stratum  ${ours!.status} ${ours!.body}\n baseline ${theirs!.status} ${theirs!.body}`,
      );
    }
  }
  const [ours, theirs] = await Promise.all([
    httpGet(stratum.baseUrl + path, headers),
    httpGet(baseline.baseUrl + path, headers),
  ]);
  if (ours.status !== 200 || theirs.status !== 200) {
    throw new Error(`GET ${path}: stratum ${ours.status}, baseline ${theirs.status}`);
  }
  const shape = (body: string) => {
    const { data, meta } = JSON.parse(body) as { data: unknown; meta: object };
    return JSON.stringify({ data, meta: Object.keys(meta).sort() });
  };
  if (shape(ours.body) !== shape(theirs.body)) {
    throw new Error(`GET ${path} differs:\n stratum  ${ours.body}\n baseline ${theirs.body}`);
  }
}

const summary = (r: LoadResult) =>
  `${Math.round(r.reqPerSec)} req/s, p50 ${r.p50Ms.toFixed(1)} ms, p95 ${r.p95Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms` +
  (r.cpuUsPerReq === null ? '' : `, ${Math.round(r.cpuUsPerReq)} µs CPU/req`) +
  (problemsOf(r) ? ` (${problemsOf(r)})` : '');

/** A scenario's yardstick: a bare server under the same load, or pgbench; or none. */
type Yardstick = { server: ChildServer } | { pgbench: true } | null;

/** One timed run of each, in turns (yardstick first), `rounds` times. */
async function loadInTurns(
  scenario: Scenario,
  plan: LoadPlan,
  context: ScenarioContext,
  targets: { baseline: Yardstick; stratum: ChildServer },
  settings: BenchSettings,
) {
  const runs: { baseline: LoadResult[]; stratum: LoadResult[] } = { baseline: [], stratum: [] };
  const { baseline } = targets;
  const load = { ...settings, connections: scenario.connections ?? settings.connections };
  const name = scenario.name;
  for (let round = 1; round <= settings.rounds; round++) {
    const label = `  ${name} round ${round}/${settings.rounds}`;
    if (baseline) {
      const result =
        'server' in baseline
          ? await measure(baseline.server, plan, load)
          : await measurePgbench(pgbenchFor(settings.pgbench, scenario.connections), load);
      runs.baseline.push(result);
      log(`${label} ${'server' in baseline ? 'baseline' : 'pgbench'}: ${summary(result)}`);
    }
    const result = await measure(targets.stratum, plan, load);
    runs.stratum.push(result);
    log(`${label} stratum: ${summary(result)}`);
    result.settled = await scenario.settle?.(context);
    if (result.settled) log(`${label} ${result.settled}`);
  }
  return runs;
}

async function runScenario(
  scenario: Scenario,
  context: ScenarioContext,
  targets: { baseline: Yardstick; stratum: ChildServer },
  settings: BenchSettings,
): Promise<ScenarioReport> {
  log(`scenario ${scenario.name}: ${scenario.description}`);
  const plan = await scenario.prepare(context);
  if (scenario.overload)
    return runOverload(scenario, scenario.overload, plan, targets.stratum, settings);
  const { baseline } = targets;
  if (baseline && 'server' in baseline) {
    await checkSameAnswer(targets.stratum, baseline.server, plan);
  }
  const runs = await loadInTurns(scenario, plan, context, targets, settings);
  const ratio = baseline ? bestOf(runs.stratum).reqPerSec / bestOf(runs.baseline).reqPerSec : null;
  const p95TargetMs = scenario.p95TargetMs ?? null;
  const p99VsBaseline = baseline ? (scenario.p99VsBaseline ?? null) : null;
  const p99Ratio = baseline ? bestOf(runs.stratum).p99Ms / bestOf(runs.baseline).p99Ms : null;
  const problems = [...runs.baseline, ...runs.stratum]
    .map(problemsOf)
    .filter((p): p is string => p !== undefined);
  return {
    name: scenario.name,
    description: scenario.description,
    ratioTarget: scenario.ratioTarget,
    p95TargetMs,
    p99VsBaseline,
    baselineName: baseline && 'pgbench' in baseline ? 'pgbench' : 'baseline',
    ...runs,
    ratio,
    pass:
      problems.length === 0 &&
      (ratio === null || scenario.ratioTarget === null || ratio >= scenario.ratioTarget) &&
      (p95TargetMs === null || bestOf(runs.stratum).p95Ms < p95TargetMs) &&
      (p99VsBaseline === null || p99Ratio! <= p99VsBaseline),
    problems,
  };
}

/**
 * The overload scenario: capacity, then 3× capacity. Its rows are the run at capacity (as the
 * baseline) and the admitted part of the overload; 503s are expected there, not problems.
 */
async function runOverload(
  scenario: Scenario,
  { boundMs }: { boundMs: number },
  plan: LoadPlan,
  stratum: ChildServer,
  settings: BenchSettings,
): Promise<ScenarioReport> {
  const report = await measureOverload(
    stratum,
    plan,
    {
      boundMs,
      connections: 400,
      stepS: 5,
      durationS: settings.durationS,
      warmupS: Math.max(1, settings.warmupS),
    },
    log,
  );
  for (const line of report.lines) log(`  overload: ${line}`);
  const { capacity, overload, healthMs } = report;
  const ratio = overload.result.reqPerSec / capacity.result.reqPerSec;
  const problems = overload.failed ? [`${overload.failed} admitted requests failed`] : [];
  return {
    name: scenario.name,
    description: `${scenario.description}; ${report.lines.join('; ')}`,
    ratioTarget: scenario.ratioTarget,
    p95TargetMs: null,
    p99VsBaseline: 3,
    baselineName: 'at capacity',
    baseline: [capacity.result],
    stratum: [overload.result],
    ratio,
    pass:
      problems.length === 0 &&
      ratio >= (scenario.ratioTarget ?? 0) &&
      overload.result.p99Ms <= 3 * capacity.result.p99Ms &&
      healthMs.max < 100,
    problems,
  };
}

/** Servers are started once per kind, and only for the scenarios that run. */
function startedOnce(stopping: ChildServer[]) {
  const started = new Map<string, ChildServer>();
  return async (key: string, start: () => Promise<ChildServer>) => {
    let server = started.get(key);
    if (!server) {
      server = await start();
      started.set(key, server);
      stopping.push(server);
    }
    return server;
  };
}

async function yardstickOf(
  baseline: Baseline | null,
  once: ReturnType<typeof startedOnce>,
  settings: BenchSettings,
  redisUrl: string | undefined,
): Promise<Yardstick> {
  if (!baseline) return null;
  if (baseline.kind === 'pgbench') return { pgbench: true };
  const { script } = baseline;
  const server = await once(`${script} ${redisUrl}`, () =>
    startBaseline(script, settings.databaseUrl, redisUrl),
  );
  return { server };
}

/** Starts the servers, runs the scenarios, and reads memory once the load is over. */
async function loadServers(
  selected: Scenario[],
  settings: BenchSettings,
  database: DatabaseHandle,
  stopping: ChildServer[],
) {
  const loadBefore = os.loadavg()[0]!;
  // The plain instance (PostgreSQL only) is the one whose memory is reported.
  const stratum = await startStratum(settings);
  stopping.push(stratum);
  const stratumIdleRssMb = stratum.rssMb();
  const once = startedOnce(stopping);
  const scenarios: ScenarioReport[] = [];
  for (const scenario of selected) {
    const redisUrl = scenario.redis ? settings.redisUrl : undefined;
    const baseline = await yardstickOf(scenario.baseline, once, settings, redisUrl);
    const target =
      redisUrl || scenario.stratumEnv
        ? await once(`stratum ${redisUrl} ${JSON.stringify(scenario.stratumEnv)}`, () =>
            startStratum(settings, redisUrl, scenario.stratumEnv),
          )
        : stratum;
    const context = { db: database.db, jwtSecret: BENCH_JWT_SECRET, stratumUrl: target.baseUrl };
    scenarios.push(await runScenario(scenario, context, { baseline, stratum: target }, settings));
    if (target !== stratum) log(`  ${target.name}: ${target.rssMb().toFixed(0)} MB resident`);
  }
  const stratumRssMb = stratum.rssMb();
  const loadAverage = { before: loadBefore, after: os.loadavg()[0]! };
  const baselines = stopping.filter((s) => !s.name.startsWith('stratum'));
  // None when only pgbench (or nothing) was the yardstick.
  const baselineRssMb = baselines.length ? Math.max(...baselines.map((s) => s.rssMb())) : null;
  // The budget is what the process keeps, not its peak: read once it has been left alone.
  log(`idling ${SETTLE_MS / 1000} s before reading Stratum's memory`);
  await sleep(SETTLE_MS);
  const stratumSettledRssMb = stratum.rssMb();
  const memory: MemoryReport = {
    stratumIdleRssMb,
    stratumRssMb,
    stratumSettledRssMb,
    baselineRssMb,
    targetMb: RSS_TARGET_MB,
    pass: stratumSettledRssMb < RSS_TARGET_MB,
  };
  return { scenarios, memory, loadAverage, postgresStartupMs: stratum.readyMs };
}

/**
 * Prepares pgbench's tables for the selected scenarios (one database per scale). A scenario
 * whose pgbench can't run on this server (200 clients where it allows fewer connections) is
 * left out with the reason in the log, not the whole run.
 */
async function withPgbenchReady(selected: Scenario[], settings: BenchSettings) {
  const runnable: Scenario[] = [];
  const prepared = new Map<string, Promise<void>>();
  for (const scenario of selected) {
    if (scenario.baseline?.kind !== 'pgbench') {
      runnable.push(scenario);
      continue;
    }
    const run = pgbenchFor(settings.pgbench, scenario.connections);
    const key = `${run.databaseUrl} ${run.clients}`;
    if (!prepared.has(key)) prepared.set(key, preparePgbench(run));
    try {
      await prepared.get(key);
      runnable.push(scenario);
    } catch (err) {
      log(
        `scenario ${scenario.name} left out: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return runnable;
}

async function main(settings: BenchSettings): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const selected = selectedScenarios(settings.only);
  await ensureDatabase(settings.databaseUrl);
  const database = openDatabase(settings.databaseUrl);
  const stopping: ChildServer[] = [];
  try {
    const seededUsers = await prepareDatabase(database, settings.users);
    log(seededUsers ? `seeded ${seededUsers} users` : 'database already seeded');
    const runnable = await withPgbenchReady(selected, settings);
    const machine = describeMachine(await serverVersion(database));
    log('timing the embedded start-up');
    const embedded = await measureEmbeddedStartup();
    const { scenarios, memory, loadAverage, postgresStartupMs } = await loadServers(
      runnable,
      settings,
      database,
      stopping,
    );
    // Stratum's API processes run outbox relays of their own: stop them so only the measured
    // worker drains the outbox.
    await Promise.all(stopping.splice(0).map((server) => server.stop()));
    log('timing the email jobs');
    const emails = await measureEmailThroughput(database, settings.redisUrl, EMAIL_JOBS, 5);
    return {
      startedAt,
      machine,
      settings,
      selection: selectionOf(settings),
      seededUsers,
      startup: { ...embedded, postgresMs: postgresStartupMs },
      memory,
      loadAverage,
      scenarios,
      emails,
    };
  } finally {
    await Promise.all(stopping.map((server) => server.stop()));
    await database.close();
  }
}

/** `BENCH_SCENARIOS=startup`: the start-up rows alone, in seconds rather than minutes. */
async function startupOnly(): Promise<void> {
  log('timing the embedded start-up and `npm start` restarts');
  // Timings on a shared machine are only as good as its quiet: the load average says how quiet.
  const before = os.loadavg()[0]!;
  const startup = await measureEmbeddedStartup();
  printStartup(startup, { before, after: os.loadavg()[0]! });
}

const settings = settingsOrExit();
if (settings.only.length === 1 && settings.only[0] === STARTUP_ONLY) {
  await startupOnly().catch((err: unknown) => {
    log(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
} else {
  await fullRun(settings);
}

async function fullRun(settings: BenchSettings) {
  try {
    const report = await main(settings);
    printReport(report);
    const file = await writeResults(report);
    await writeReadme(report);
    log(`\nresults: ${file}; bench/README.md updated`);
    // A missed target is a result; a run with errors or non-2xx answers measured nothing.
    if (report.scenarios.some((s) => s.problems.length)) process.exitCode = 1;
  } catch (err) {
    log(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
