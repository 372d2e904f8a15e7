// Repairing a damaged embedded chain: a copy of the data dir first, then LevelDB's RepairDB,
// then the same checks as `tsvm check` on what came back.
import {spawn} from 'node:child_process'
import {cpSync, existsSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'

import {TsvmError} from '../vm/errors.js'
import {checkRepairable} from '../vm/state.js'
import type {CheckReport} from './chain.js'
import {EmbeddedChain} from './embedded.js'

export interface RepairOptions {
  /** Where to copy the data dir before the repair; false for no copy. Default: next to it, named by the time. */
  backup?: string | false
  /** The time that names the default backup. */
  now?: Date
}

export interface RepairResult {
  dataDir: string
  /** The copy of the data dir as it was before the repair, or null without one. */
  backup: string | null
  /** `tsvm check` on the repaired chain. */
  check: CheckReport
}

/** The default backup of `dir`: `<dir>.backup-<UTC time>`, e.g. chain.backup-20261125T203000Z. */
export function defaultBackup(dir: string, now: Date): string {
  return `${dir}.backup-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`
}

/**
 * LevelDB's RepairDB on `dir`, in a child process: it rebuilds the MANIFEST (and CURRENT) from
 * the table and log files still readable and moves what it cannot use into `lost/`. A table
 * whose keys are out of order (garbled bytes) makes LevelDB abort() inside the repair, which
 * would end this process before it could say anything; in a child it is an error we report.
 */
export function repairDatabase(dir: string): Promise<void> {
  const classicLevel = createRequire(import.meta.url).resolve('classic-level')
  const script = `require(${JSON.stringify(classicLevel)}).ClassicLevel.repair(process.argv[1]).then(() => process.exit(0), (e) => { process.stderr.write(String((e && e.message) || e)); process.exit(1) })`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, dir], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
    child.on('error', (error) => reject(new TsvmError('INTERNAL', `cannot start the repair: ${error.message}`, {cause: error})))
    child.on('close', (code, signal) => {
      if (code === 0) return resolve()
      const why = signal
        ? `LevelDB stopped (${signal}) in the middle of repairing ${dir}, on a table file it could not read in order: ${stderr.trim().split('\n').pop() ?? ''}`
        : `LevelDB could not repair ${dir}: ${stderr.trim()}`
      reject(new TsvmError('DB_CORRUPT', why.trim()))
    })
  })
}

/**
 * Repairs the database in `dataDir` and checks the chain it holds. Refuses (and changes nothing)
 * when no database is there, a process holds it open, or the backup path is taken. The repair
 * keeps every block whose table or log is still readable; the check says whether the chain is
 * whole. A chain that opens but fails the check is returned with its problems, for the caller.
 */
export async function repairDataDir(dataDir: string, options: RepairOptions = {}): Promise<RepairResult> {
  const dir = await checkRepairable(dataDir)
  const backup = options.backup === false ? null : (options.backup ?? defaultBackup(dir, options.now ?? new Date()))
  if (backup !== null) {
    if (existsSync(backup)) throw new TsvmError('USAGE', `the backup path ${backup} already exists: pass another --backup, or move it away`)
    cpSync(dir, backup, {recursive: true, errorOnExist: true, force: false})
  }
  try {
    await repairDatabase(dir)
  } catch (error) {
    if (backup === null) throw withNote(error, 'the data dir may be partly repaired: restore it from a backup')
    // Leave the data dir as the user had it, not half repaired.
    rmSync(dir, {recursive: true, force: true})
    cpSync(backup, dir, {recursive: true})
    throw withNote(error, `the data dir was put back as it was (a copy stays in ${backup}): restore an older backup, or rebuild the chain`)
  }
  try {
    // No automatic genesis: a repair that lost the chain's initialized flag must say so.
    const chain = await EmbeddedChain.open(dir, {autoInit: false})
    try {
      return {dataDir: dir, backup, check: await chain.check()}
    } finally {
      await chain.close()
    }
  } catch (error) {
    throw backup === null ? error : withNote(error, `the data dir as it was before the repair is in ${backup}`)
  }
}

/** The same error with a note on the data dir after its message. */
function withNote(error: unknown, note: string): unknown {
  if (!(error instanceof TsvmError)) return error
  return new TsvmError(error.code, `${error.message}; ${note}`, {cause: error, details: error.details})
}
