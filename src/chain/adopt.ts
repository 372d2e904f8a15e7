// `tsvm adopt`: adopts the state the Go VM left in a data dir (src/vm/adopt.ts), or finishes an
// interrupted adoption, then checks the whole chain as `tsvm check` does. Opening the data dir
// from any other command adopts the same way; this lets an operator do it before starting a node.
import type {AdoptReport} from '../vm/adopt.js'
import type {CheckReport} from '../vm/check.js'
import {TsvmError} from '../vm/errors.js'
import {EmbeddedChain} from './embedded.js'

/** What adoptDataDir found and did. */
export interface AdoptResult {
  dataDir: string
  /** Undefined when the data dir already held tsvm's indexes. */
  adopted: AdoptReport | undefined
  check: CheckReport
}

/** Adopts the Go state in `dataDir` if it holds one, then checks the chain. NOT_INITIALIZED when there is no chain. */
export async function adoptDataDir(dataDir: string): Promise<AdoptResult> {
  const chain = await EmbeddedChain.open(dataDir, {autoInit: false, onAdopted() {}})
  try {
    if (!chain.vm.isInitialized()) {
      throw new TsvmError(
        'NOT_INITIALIZED',
        `${chain.location} holds no chain (no initialized flag): nothing to adopt; check --data-dir`,
      )
    }

    return {dataDir: chain.location, adopted: chain.adoption, check: await chain.check()}
  } finally {
    await chain.close()
  }
}
