// The fuzz properties with a fixed seed, so a failure here reproduces exactly. The stress
// runner (test/stress/run.ts) runs the same properties with many more cases and fresh seeds.
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {PARSER_TARGETS} from './fuzz-targets.js'

/** The seed every fast fuzz run uses. */
export const FAST_SEED = 20_261_125

describe('fuzz: parsers of outside input (fixed seed)', () => {
  for (const target of PARSER_TARGETS) {
    it(target.name, () => {
      fc.assert(target.property() as fc.IProperty<unknown>, {seed: FAST_SEED, numRuns: Math.ceil(2000 / (target.cost ?? 1))})
    })
  }
})
