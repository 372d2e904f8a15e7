// The real embedded VM and chain for tests, each on a fresh data dir with a fixed clock.
// `engine` is serve's own adapter (engineVm), so the API tests drive what `tsvm serve` drives.
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {EngineVm} from '../../src/node/engine.js'
import {engineVm} from '../../src/node/serve.js'
import {EmbeddedChain} from '../../src/chain/embedded.js'
import {TimestampVM} from '../../src/vm/vm.js'

/** The fixed clock of the test VMs: 2023-11-14T22:13:20Z, in ms. */
export const NOW_MS = 1_700_000_000_000
export const fixedNow = (): number => NOW_MS

export interface TestVm {
  vm: TimestampVM
  /** serve's adapter over vm. */
  engine: EngineVm & {close(): Promise<void>}
  dir: string
  /** Closes the VM (if still open) and removes its data dir. */
  close(): Promise<void>
}

/** A real TimestampVM on a fresh dir, initialized with `genesis` (default: 32 zero bytes). */
export async function openTestVm(
  options: {genesis?: Uint8Array; mempoolLimit?: number; now?: () => number} = {},
): Promise<TestVm> {
  const dir = await mkdtemp(join(tmpdir(), 'tsvm-vm-'))
  const vm = await TimestampVM.open(dir, {now: options.now ?? fixedNow, mempoolLimit: options.mempoolLimit})
  await vm.initialize(options.genesis ?? new Uint8Array(0))
  return {
    vm,
    engine: engineVm(vm),
    dir,
    async close() {
      await vm.close()
      await rm(dir, {recursive: true, force: true})
    },
  }
}

/** A real EmbeddedChain (default genesis) on a fresh dir, with the fixed clock; close() also removes the dir. */
export async function openTestChain(options: {now?: () => number} = {}): Promise<EmbeddedChain & {dir: string}> {
  const dir = await mkdtemp(join(tmpdir(), 'tsvm-chain-'))
  const chain = await EmbeddedChain.open(dir, {now: options.now ?? fixedNow})
  const close = chain.close.bind(chain)
  return Object.assign(chain, {
    dir,
    async close() {
      await close()
      await rm(dir, {recursive: true, force: true})
    },
  })
}
