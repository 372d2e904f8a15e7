// Start-up: the wall time of short commands against `node -e 0`, spawned alternately so both
// sides see the same machine load, each the median of `startupRuns` spawns.
import {
  alternate,
  type Figure,
  type Sizes,
  childEnv,
  median,
  nodeBare,
  progress,
  timeFigure,
  tsvm,
  tsvmOk,
} from './lib.js'

/** `tsvm vm-id timestampvm` against `node -e 0`. */
export async function startupVmId(sizes: Sizes): Promise<Figure> {
  progress('start-up: vm-id')
  const {as, bs} = await alternate(sizes.startupRuns, () => tsvm(['vm-id', 'timestampvm']), nodeBare)
  return timeFigure({
    id: 'startup.vm-id',
    name: 'start-up: tsvm vm-id timestampvm',
    value: median(as),
    unit: 'ms',
    baseline: {name: 'node -e 0', value: median(bs), unit: 'ms'},
    goal: '<= 2.0x',
    maxRatio: 2,
    detail: {runs: as, baselineRuns: bs},
  })
}

/** `tsvm get-block` (the last accepted block) on an initialized embedded chain against `node -e 0`. */
export async function startupGetBlock(sizes: Sizes, dataDir: string): Promise<Figure> {
  progress('start-up: get-block')
  const env = childEnv({TSVM_DATA_DIR: dataDir})
  await tsvmOk(['init'], {env})
  const {as, bs} = await alternate(sizes.startupRuns, () => tsvm(['get-block'], {env}), nodeBare)
  return timeFigure({
    id: 'startup.get-block',
    name: 'start-up: tsvm get-block (embedded)',
    value: median(as),
    unit: 'ms',
    baseline: {name: 'node -e 0', value: median(bs), unit: 'ms'},
    goal: '<= 2.6x',
    maxRatio: 2.6,
    detail: {runs: as, baselineRuns: bs},
  })
}
