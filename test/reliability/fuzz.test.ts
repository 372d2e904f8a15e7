// The fuzz properties with a fixed seed, so a failure here reproduces exactly. The stress
// runner (test/stress/run.ts) runs the same properties with many more cases and fresh seeds.
import {after, describe, it} from 'node:test'

import fc from 'fast-check'

import {type FuzzTarget, PARSER_TARGETS} from './fuzz-targets.js'
import {RECEIPT_TARGETS} from './receipt-targets.js'
import {rpcTargets} from './rpc-targets.js'

/** The seed every fast fuzz run uses. */
export const FAST_SEED = 20_261_125

/** Cases per target in the fast suite, divided by the target's cost. */
const FAST_RUNS = 2000

function run(target: FuzzTarget): Promise<void> | void {
  const params = {seed: FAST_SEED, numRuns: Math.ceil(FAST_RUNS / (target.cost ?? 1))}
  const property = target.property()
  return property.isAsync()
    ? fc.assert(property as fc.IAsyncProperty<unknown>, params)
    : fc.assert(property as fc.IProperty<unknown>, params)
}

describe('fuzz: parsers of outside input (fixed seed)', () => {
  for (const target of PARSER_TARGETS) it(target.name, () => run(target))
})

describe('fuzz: receipt parser (fixed seed)', () => {
  for (const target of RECEIPT_TARGETS) it(target.name, () => run(target))
})

describe('fuzz: JSON-RPC handler and HTTP server (fixed seed)', () => {
  const rpc = rpcTargets()
  after(() => rpc.close())
  for (const target of rpc.targets) it(target.name, () => run(target))
})
