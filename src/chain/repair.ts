// Repairing a damaged embedded chain. The data dir is never changed in place: under the dir's
// lock, it is copied (its LOCK file aside), LevelDB's RepairDB runs on the copy, the copy is
// checked as `tsvm check` does, and only then does the copy take the dir's place: the dir is
// renamed to the backup and the copy renamed to the dir. A marker next to the dir (see
// src/vm/datadir.ts) makes every opener refuse the dir until the repair is over, so a repair
// killed at any point leaves either the dir as it was, or the two halves named in the marker
// for the next `tsvm repair` to finish.
import {spawn} from 'node:child_process'
import {cpSync, existsSync, readdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

import {
  lockDataDir,
  markerPath,
  readMarker,
  refuseMidRepair,
  removeMarker,
  removeStaleHolders,
  repairRunning,
  type RepairMarker,
  syncDir,
  writeMarker,
} from '../vm/datadir.js'
import {TsvmError} from '../vm/errors.js'
import {canonicalDir, checkRepairable} from '../vm/state.js'
import type {CheckReport} from './chain.js'
import {EmbeddedChain} from './embedded.js'

export interface RepairOptions {
  /** Where the data dir as it was goes; false for none. Default: next to it, named by the time. */
  backup?: string | false
  /** The time that names the default backup. */
  now?: Date
}

export interface RepairResult {
  dataDir: string
  /** The data dir as it was before the repair, or null without a backup. */
  backup: string | null
  /** `tsvm check` on the repaired chain. */
  check: CheckReport
  /** True when this run finished a repair that was interrupted while putting its copy in place. */
  finished?: boolean
}

/** The default backup of `dir`: `<dir>.backup-<UTC time>`, e.g. chain.backup-20261125T203000Z. */
export function defaultBackup(dir: string, now: Date): string {
  return `${dir}.backup-${now
    .toISOString()
    .replaceAll(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`
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
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8')
    })
    child.on('error', (error) =>
      reject(new TsvmError('INTERNAL', `cannot start the repair: ${error.message}`, {cause: error})),
    )
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
 * Test hook: with TSVM_TEST_REPAIR_PAUSE=<point>:<file>, the repair writes <file>.reached on
 * reaching <point> (locked, repaired, swap) and waits there until <file> exists, so a test can
 * act at that exact point without guessing at times.
 */
async function pausePoint(point: 'locked' | 'repaired' | 'swap'): Promise<void> {
  const hook = process.env.TSVM_TEST_REPAIR_PAUSE
  if (!hook?.startsWith(`${point}:`)) return
  const file = hook.slice(point.length + 1)
  writeFileSync(`${file}.reached`, String(process.pid))
  while (!existsSync(file))
    await new Promise((resolve) => {
      setTimeout(resolve, 10)
    })
}

/** Runs `tsvm check` on the chain in `dir` (which must hold a database; no genesis is made). */
async function checkChain(dir: string): Promise<CheckReport> {
  const chain = await EmbeddedChain.open(dir, {autoInit: false, create: false})
  try {
    return await chain.check()
  } finally {
    await chain.close()
  }
}

/**
 * Copies a data dir, leaving out LevelDB's LOCK and info logs. LOCK: the repairing process must
 * never open the LOCK it holds (see lockDataDir). LOG and LOG.old: LevelDB rotates them when it
 * starts opening a dir, before it meets the lock, so a command refused as locked still renames
 * them under the copy; they hold no data.
 */
function copyDir(from: string, to: string): void {
  const skip = new Set(['LOCK', 'LOG', 'LOG.old'].map((name) => join(from, name)))
  cpSync(from, to, {recursive: true, errorOnExist: true, force: false, filter: (src) => !skip.has(src)})
}

const has = (p: string | null): p is string => p !== null && p !== '?' && existsSync(p)

/**
 * Finishes a repair that was killed (its marker is there, its process is not). Killed while its
 * copy (already repaired and checked) was taking the dir's place: the swap is completed and its
 * result returned. Killed before it changed the dir: its copy goes, and undefined says to repair
 * the dir afresh. A state it cannot read for certain is left alone, with what to do.
 */
async function finishInterrupted(dir: string, m: RepairMarker): Promise<RepairResult | undefined> {
  const original = m.backup ?? m.aside
  const finish = async (): Promise<RepairResult> => {
    removeMarker(dir)
    if (m.backup === null) rmSync(m.aside ?? `${dir}.repair-old`, {recursive: true, force: true})
    return {dataDir: dir, backup: m.backup, check: await checkChain(dir), finished: true}
  }

  if (m.step === 'swap') {
    // A dir holding only LevelDB's LOCK and LOG is a late opener's trace (see putInPlace), not a chain.
    const dirThere = has(dir) && !readdirSync(dir).every((name) => isOpenerTrace(name))
    if (!dirThere && has(m.work)) {
      putInPlace(m.work, dir)
      return finish()
    }

    if (dirThere && !has(m.work)) return finish()
    if (!(dirThere && has(m.work) && !has(m.backup) && !has(m.aside))) {
      throw new TsvmError(
        'REPAIR_INCOMPLETE',
        `a repair of ${dir} was interrupted while putting its copy in place, and what is left is not what it expected (${dir}: ${dirThere ? 'present' : 'missing'}, ` +
          `copy ${m.work}: ${has(m.work) ? 'present' : 'missing'}, original ${original}: ${has(original) ? 'present' : 'missing'}): ` +
          `move the original back to ${dir} (or the repaired copy, if you trust it), then delete ${markerPath(dir)}`,
        {details: {marker: markerPath(dir), backup: m.backup, work: m.work}},
      )
    }
  }

  // The dir is as it was: only the unfinished copy goes.
  if (has(m.work)) rmSync(m.work, {recursive: true, force: true})
  removeMarker(dir)
  return undefined
}

/**
 * Repairs the database in `dataDir` and checks the chain it holds. Refuses (and changes nothing)
 * when no database is there, a process holds it open, or the backup path is taken. The repair
 * keeps every block whose table or log is still readable; the check says whether the chain is
 * whole. A chain that opens but fails the check still takes the dir's place, and is returned
 * with its problems for the caller; a copy that cannot be repaired or opened leaves the dir as it was.
 */
export async function repairDataDir(dataDir: string, options: RepairOptions = {}): Promise<RepairResult> {
  let dir = canonicalDir(dataDir)
  removeStaleHolders()
  const stale = readMarker(dir)
  if (stale !== undefined) {
    if (repairRunning(stale)) refuseMidRepair(dir) // DB_LOCKED: that repair still runs
    const finished = await finishInterrupted(dir, stale)
    if (finished) return finished
  }

  dir = checkRepairable(dir)
  const backup = options.backup === false ? null : (options.backup ?? defaultBackup(dir, options.now ?? new Date()))
  if (backup !== null && existsSync(backup))
    throw new TsvmError('USAGE', `the backup path ${backup} already exists: pass another --backup, or move it away`)
  const lock = await lockDataDir(dir)
  try {
    await pausePoint('locked')
    const marker: RepairMarker = {
      dataDir: dir,
      pid: process.pid,
      started: new Date().toISOString(),
      step: 'repair',
      work: `${dir}.repair-copy`,
      backup,
      aside: `${dir}.repair-old`,
    }
    // Leftovers of a repair killed before it wrote its marker: nobody else can hold them now.
    for (const leftover of [marker.work, marker.aside!]) rmSync(leftover, {recursive: true, force: true})
    writeMarker(marker)
    const fail = (error: unknown, note: string): unknown => {
      rmSync(marker.work, {recursive: true, force: true})
      removeMarker(dir)
      return withNote(error, note)
    }

    let check: CheckReport
    try {
      copyDir(dir, marker.work)
      await repairDatabase(marker.work)
    } catch (error) {
      throw fail(
        error,
        `${dir} was left as it was (the repair works on a copy): restore an older backup, or rebuild the chain`,
      )
    }

    try {
      check = await checkChain(marker.work)
    } catch (error) {
      throw fail(
        error,
        `the repaired copy cannot be read, so ${dir} was left as it was: restore an older backup, or rebuild the chain`,
      )
    }

    await pausePoint('repaired')
    writeMarker({...marker, step: 'swap'})
    moveAside(dir, backup, marker.aside!)
    await pausePoint('swap')
    putInPlace(marker.work, dir)
    removeMarker(dir)
    rmSync(marker.aside!, {recursive: true, force: true})
    return {dataDir: dir, backup, check}
  } finally {
    await lock.release()
  }
}

const isOpenerTrace = (name: string): boolean => name === 'LOCK' || name === 'LOG' || name === 'LOG.old'

/**
 * Renames the repaired copy to the dir's path. An opener that looked before the marker was
 * written and reached LevelDB while the path was free may have left LevelDB's LOCK and LOG
 * there (LevelDB makes the dir before it finds no database in it): those go, nothing else.
 */
function putInPlace(work: string, dir: string): void {
  try {
    renameSync(work, dir)
  } catch (error) {
    const {code} = error as NodeJS.ErrnoException
    if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !readdirSync(dir).every((name) => isOpenerTrace(name)))
      throw error
    rmSync(dir, {recursive: true, force: true})
    renameSync(work, dir)
  }

  syncDir(dirname(dir))
}

/** Renames the dir to its backup (or aside, without one). A backup on another file system is copied first, then the dir renamed aside. */
function moveAside(dir: string, backup: string | null, aside: string): void {
  try {
    renameSync(dir, backup ?? aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV' || backup === null) throw error
    copyDir(dir, backup)
    renameSync(dir, aside)
  }

  syncDir(dirname(dir))
}

/** The same error with a note on the data dir after its message. */
function withNote(error: unknown, note: string): unknown {
  if (!(error instanceof TsvmError)) return error
  return new TsvmError(error.code, `${error.message}; ${note}`, {cause: error, details: error.details})
}
