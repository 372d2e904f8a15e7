// The long reliability run: `npm run test:stress` (node dist/test/stress/run.js --run).
// The same properties and attacks as test/reliability, at a larger scale and with fresh seeds,
// each phase bounded in time, the whole run under --minutes (default 9). Prints a summary and
// exits 1 if any phase failed; every failure names the seed that reproduces it.
//
//   --minutes <m>   overall budget (phases share it in fixed proportions)
//   --seed <n>      base seed (default: time-based, printed)
//   --only <phase>  run one phase: fuzz, crash-propose, crash-serve, crash-serve-in-flight, hostile,
//                   concurrency, disk-full, repair-race
//
// Loaded without --run (as `node --test dist/test/` does with every file under test/) it does nothing.
import {phases, type Phase, type Summary} from './phases.js'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}

async function main(): Promise<void> {
  const minutes = Number(arg('minutes') ?? 9)
  const seed = Number(arg('seed') ?? Date.now() % 2 ** 31)
  const only = arg('only')
  const deadline = Date.now() + minutes * 60_000
  const selected: Phase[] = phases.filter((p) => only === undefined || p.name === only)
  console.log(`tsvm stress: seed ${seed}, budget ${minutes} min, phases ${selected.map((p) => p.name).join(', ')}`)
  const results: Array<{phase: string; summary: Summary; error?: unknown; ms: number}> = []
  for (const phase of selected) {
    const remaining = deadline - Date.now()
    const budgetMs = Math.max(
      5000,
      Math.floor((remaining * phase.share) / selected.slice(selected.indexOf(phase)).reduce((a, p) => a + p.share, 0)),
    )
    const started = Date.now()
    const summary: Summary = {}
    process.stdout.write(`\n== ${phase.name} (budget ${Math.round(budgetMs / 1000)} s)\n`)
    try {
      await phase.run({seed, budgetMs, summary, log: (line) => process.stdout.write(`   ${line}\n`)})
      results.push({phase: phase.name, summary, ms: Date.now() - started})
    } catch (error) {
      results.push({phase: phase.name, summary, error, ms: Date.now() - started})
      process.stdout.write(`   FAILED: ${(error as Error)?.stack ?? String(error)}\n`)
    }
  }

  console.log('\n== summary')
  for (const r of results) {
    const figures = Object.entries(r.summary)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')
    console.log(
      `${r.error === undefined ? 'ok  ' : 'FAIL'} ${r.phase.padEnd(14)} ${String(Math.round(r.ms / 1000)).padStart(4)} s  ${figures}`,
    )
  }

  const failed = results.filter((r) => r.error !== undefined).length
  console.log(
    failed === 0 ? `all ${results.length} phases passed (seed ${seed})` : `${failed} phase(s) failed (seed ${seed})`,
  )
  process.exitCode = failed === 0 ? 0 : 1
}

if (process.argv.includes('--run')) await main()
