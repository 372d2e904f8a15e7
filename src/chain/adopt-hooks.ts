// Process-wide settings of the adoption that opening an embedded chain may run (src/vm/adopt.ts):
// the CLI sets them once (where the report goes, test hooks), so every command that opens a data
// dir reports an adoption the same way. Kept free of imports so that setting them costs nothing.
import type {AdoptOptions, AdoptReport} from '../vm/adopt.js'

/** How EmbeddedChain.open adopts a state the Go VM wrote, when its own options say nothing. */
export const adoptionSettings: {
  /** Batch size and a hook after each batch. */
  adopt?: AdoptOptions
  /** Told what an open adopted. */
  onAdopted?: (report: AdoptReport, dataDir: string) => void
} = {}
