// Watches the chained batches a database makes (a ChainState's `db`): which were handed to
// LevelDB, which landed, in order, and with what options. The batches are numbered from 1 as
// they are made; the database's batch() stays wrapped for the rest of the test.

export interface BatchingDb {
  batch(): {write(options?: {sync?: boolean}): Promise<void>}
}

export interface BatchWrites {
  /** Batches whose write was called (handed to LevelDB), in call order. */
  started: number[]
  /** Batches whose write landed, in order. */
  landed: number[]
  /** The options of each write call, in call order. */
  options: Array<{sync?: boolean} | undefined>
}

export function watchBatchWrites(db: BatchingDb): BatchWrites {
  const seen: BatchWrites = {started: [], landed: [], options: []}
  const batch = db.batch.bind(db)
  let made = 0
  db.batch = () => {
    const chained = batch()
    const write = chained.write.bind(chained)
    const label = ++made
    chained.write = async (options) => {
      seen.started.push(label)
      seen.options.push(options)
      await write(options)
      seen.landed.push(label)
    }

    return chained
  }

  return seen
}
