// What surrounds a data dir besides LevelDB's own files, and the checks an opener makes before
// LevelDB touches anything.
//
//   <dir>/            the LevelDB database; LevelDB's own <dir>/LOCK is the lock every opener takes
//   <dir>.repairing   JSON: a tsvm repair of <dir> started and has not finished (RepairMarker)
//
// The lock. LevelDB locks <dir>/LOCK (fcntl on POSIX, LockFileEx on Windows) before it reads or
// writes anything and keeps it while the database is open; the OS drops it when the process dies.
// A repair cannot open the damaged database to take that lock, so it opens a tiny empty LevelDB
// elsewhere whose LOCK is a link to <dir>/LOCK: LevelDB follows the link and locks the same file.
// Every other open of <dir> then fails as locked until the repair releases it or dies, so no
// tsvm process (nor any other LevelDB program) can open the dir while it is copied and repaired,
// and no lock outlives a killed repair. POSIX drops all of a process's locks on a file when the
// process closes ANY descriptor of it: while it holds the lock, the repairing process must never
// open <dir>/LOCK itself (its copy of the dir leaves LOCK out).
//
// The marker covers what a lock cannot: the moment the repaired copy replaces the dir (two
// renames, between which <dir> does not exist), and a repair killed half way. Openers refuse a
// dir with a marker, before and after LevelDB opens it.
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  linkSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'

import {ClassicLevel} from 'classic-level'

import {TsvmError} from './errors.js'

/** The marker a repair leaves next to the data dir while it runs. */
export interface RepairMarker {
  dataDir: string
  pid: number
  started: string
  /** `repair`: the dir is untouched, a copy is being repaired; `swap`: the repaired copy is replacing the dir. */
  step: 'repair' | 'swap'
  /** The copy being repaired. */
  work: string
  /** Where the dir as it was goes (the backup), or null with --no-backup. */
  backup: string | null
  /** Where the dir as it was goes when there is no backup (deleted once the copy is in place). */
  aside: string | null
}

/** The marker's path: `<dir>.repairing`. */
export function markerPath(dir: string): string {
  return `${dir}.repairing`
}

/** The marker next to `dir`, undefined when there is none. An unreadable marker still counts. */
export function readMarker(dir: string): RepairMarker | undefined {
  const path = markerPath(dir)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const {code} = error as NodeJS.ErrnoException
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    text = '' // there, but unreadable: still a repair's
  }

  try {
    const m = JSON.parse(text) as Partial<RepairMarker>
    return {dataDir: dir, pid: 0, started: '?', step: 'repair', work: '?', backup: null, aside: null, ...m}
  } catch {
    return {dataDir: dir, pid: 0, started: '?', step: 'repair', work: '?', backup: null, aside: null}
  }
}

/** Writes the marker atomically (temp file, fsync, rename, directory fsync). */
export function writeMarker(marker: RepairMarker): void {
  const path = markerPath(marker.dataDir)
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, `${JSON.stringify(marker, null, 2)}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }

  renameSync(tmp, path)
  syncDir(dirname(path))
}

/** Removes the marker (and makes the removal durable). */
export function removeMarker(dir: string): void {
  rmSync(markerPath(dir), {force: true})
  syncDir(dirname(dir))
}

/** fsync of a directory, so a rename in it survives a power cut; a no-op where the OS refuses it (Windows). */
export function syncDir(dir: string): void {
  let fd: number
  try {
    fd = openSync(dir, 'r')
  } catch {
    return
  }

  try {
    fsyncSync(fd)
  } catch {
    // EISDIR/EPERM on platforms that cannot fsync a directory
  } finally {
    closeSync(fd)
  }
}

/** True while process `pid` runs (a pid from another PID namespace reads as not running). */
function running(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** True when the repair that wrote `m` still runs (in another process). */
export function repairRunning(m: RepairMarker): boolean {
  return m.pid !== process.pid && running(m.pid)
}

/** Refuses a dir that a repair is working on (DB_LOCKED) or that a repair left half done (REPAIR_INCOMPLETE). */
export function refuseMidRepair(dir: string): void {
  const m = readMarker(dir)
  if (m === undefined) return
  const marker = markerPath(dir)
  const details = {marker, backup: m.backup, work: m.work}
  if (repairRunning(m)) {
    throw new TsvmError(
      'DB_LOCKED',
      `data dir ${dir} is being repaired by tsvm repair (pid ${m.pid}, started ${m.started}): wait for it to finish, then run the command again`,
      {details},
    )
  }

  const original = m.backup ?? m.aside
  const how =
    m.step === 'swap'
      ? `it was interrupted while putting the repaired copy in place: the chain as it was is in ${original ?? '(unknown)'}, the repaired copy in ${m.work}; ` +
        `run tsvm repair --data-dir ${dir} to finish (or move ${original ?? 'the original'} back to ${dir} and delete ${marker})`
      : `it was interrupted before it changed ${dir}, which is as it was (the partial copy is ${m.work}); ` +
        `run tsvm repair --data-dir ${dir} again, or delete ${marker} and ${m.work} to use the dir as it was`
  throw new TsvmError(
    'REPAIR_INCOMPLETE',
    `a tsvm repair of ${dir} did not finish (pid ${m.pid}, started ${m.started}): ${how}`,
    {details},
  )
}

const PERMISSION = /EACCES|EPERM|Permission denied|Operation not permitted/i
const READ_ONLY = /EROFS|Read-only file system/i
const NO_SPACE = /ENOSPC|No space left on device|EDQUOT|Disk quota exceeded/i

/** DATA_DIR_PERMISSION or DISK_FULL when `message` (an OS or LevelDB error text) says so; else undefined. */
export function diskOrPermissionError(dir: string, message: string, cause?: unknown): TsvmError | undefined {
  if (READ_ONLY.test(message)) {
    return new TsvmError(
      'DATA_DIR_PERMISSION',
      `data dir ${dir} is on a read-only file system (${message}): LevelDB writes its LOCK and log files even to read; copy the chain to a writable place and pass that as --data-dir`,
      {cause, details: {dataDir: dir}},
    )
  }

  if (PERMISSION.test(message)) {
    return new TsvmError(
      'DATA_DIR_PERMISSION',
      `no permission to write data dir ${dir} (${message}): LevelDB writes its LOCK and log files there even to read; run tsvm as the dir's owner, make it writable (chmod/chown), or copy the chain to a dir you can write and pass that as --data-dir`,
      {cause, details: {dataDir: dir}},
    )
  }

  if (NO_SPACE.test(message)) {
    return new TsvmError(
      'DISK_FULL',
      `no space left for data dir ${dir} (${message}): free space on that file system (or pass a --data-dir on another one) and run the command again`,
      {cause, details: {dataDir: dir}},
    )
  }

  return undefined
}

/** The nearest existing ancestor of `path` (itself when it exists). */
function existingAncestor(path: string): string {
  let p = path
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p)
  return p
}

/**
 * Checks what LevelDB will need, with the OS's own answer (access(2): root passes, a read-only
 * mount does not): an existing dir must be readable and writable, a missing one creatable.
 * DATA_DIR_PERMISSION naming the path otherwise.
 */
export function checkAccess(dir: string, exists: boolean): void {
  const target = exists ? dir : existingAncestor(dirname(dir))
  if (!statSync(target).isDirectory()) {
    throw new TsvmError(
      'DB_OPEN_FAILED',
      `cannot use data dir ${dir}: ${target} is not a directory; check --data-dir`,
      {details: {dataDir: dir}},
    )
  }

  try {
    accessSync(target, exists ? constants.R_OK | constants.W_OK | constants.X_OK : constants.W_OK | constants.X_OK)
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (!exists && (PERMISSION.test(e.code ?? '') || READ_ONLY.test(e.code ?? ''))) {
      throw new TsvmError(
        'DATA_DIR_PERMISSION',
        `cannot create data dir ${dir}: ${target} is ${e.code === 'EROFS' ? 'on a read-only file system' : 'not writable by this user'} (${e.code}): pass a --data-dir in a place you can write, or fix the permissions of ${target}`,
        {cause: error, details: {dataDir: dir}},
      )
    }

    throw (
      diskOrPermissionError(dir, `${e.code ?? 'EACCES'}: ${target}`, error) ??
      new TsvmError('DB_OPEN_FAILED', `cannot use data dir ${dir} (${e.message})`, {cause: error})
    )
  }
}

/** Files LevelDB creates in a new database. */
const LEVELDB_CREATED = /^(LOCK|LOG|LOG\.old|CURRENT|MANIFEST-\d+|\d+\.(log|ldb|sst|dbtmp))$/

/**
 * Undoes a database creation that failed (disk full, no permission): removes the files LevelDB
 * made that were not there before, and the dir itself when it did not exist and is left empty.
 */
export function undoCreate(dir: string, before: readonly string[] | undefined): void {
  try {
    const had = new Set(before ?? [])
    for (const name of readdirSync(dir)) if (!had.has(name) && LEVELDB_CREATED.test(name)) unlinkSync(join(dir, name))
    if (before === undefined) rmdirSync(dir)
  } catch {
    // best effort: what is left is an empty database at worst, which the next open takes over
  }
}

/** The temp dirs that carry a repair's lock: tsvm-repair-lock-<pid>-<random>. */
const HOLDER_PREFIX = 'tsvm-repair-lock-'

/** Removes the lock carriers of repairs that were killed (their process is gone, and so is their lock). */
export function removeStaleHolders(): void {
  let names: string[]
  try {
    names = readdirSync(tmpdir())
  } catch {
    return
  }

  for (const name of names) {
    const pid = Number(/^tsvm-repair-lock-(\d+)-/.exec(name)?.[1])
    if (pid > 0 && pid !== process.pid && !running(pid)) rmSync(join(tmpdir(), name), {recursive: true, force: true})
  }
}

/** Dirs this process holds with lockDataDir: opening one here would take (and on close drop) the same OS lock. */
const LOCKED_HERE = new Set<string>()

/** True when this process holds `dir` with lockDataDir. */
export function lockedHere(dir: string): boolean {
  return LOCKED_HERE.has(dir)
}

/** The exclusive lock a repair holds on a data dir (see the top of this file). */
export interface DirLock {
  release(): Promise<void>
}

/**
 * Takes LevelDB's lock on `dir` without opening the database in it. DB_LOCKED when a process
 * holds it (a server, another command, another repair), DATA_DIR_PERMISSION when LOCK cannot be
 * written. The tiny database that carries the lock lives in the temp dir (or, where symbolic
 * links are not allowed, next to `dir` with a hard link).
 */
export async function lockDataDir(dir: string): Promise<DirLock> {
  if (LOCKED_HERE.has(dir)) throw new TsvmError('DB_LOCKED', `data dir ${dir} is already locked by this process`)
  const lockFile = join(dir, 'LOCK')
  removeStaleHolders()
  let holder = mkdtempSync(join(tmpdir(), `${HOLDER_PREFIX}${process.pid}-`))
  try {
    symlinkSync(lockFile, join(holder, 'LOCK'))
  } catch {
    // Windows without the symlink privilege: a hard link to the same file, on the same volume.
    rmSync(holder, {recursive: true, force: true})
    closeSync(openSync(lockFile, 'a'))
    holder = mkdtempSync(join(dirname(dir), `.${basename(dir)}.repair-lock-`))
    linkSync(lockFile, join(holder, 'LOCK'))
  }

  const db = new ClassicLevel(holder)
  try {
    await db.open()
  } catch (error) {
    rmSync(holder, {recursive: true, force: true})
    const e = error as {message?: string; cause?: {code?: string; message?: string}}
    const msg = e.cause?.message ?? e.message ?? String(error)
    throw (
      diskOrPermissionError(dir, msg, error) ??
      (e.cause?.code === 'LEVEL_LOCKED' || /\block\b/i.test(msg)
        ? new TsvmError(
            'DB_LOCKED',
            `data dir ${dir} is in use by another process (${msg}): stop it (e.g. tsvm serve) before repairing the dir`,
            {cause: error},
          )
        : new TsvmError('DB_OPEN_FAILED', `cannot lock data dir ${dir} (${msg})`, {cause: error}))
    )
  }

  LOCKED_HERE.add(dir)
  return {
    async release() {
      try {
        await db.close()
      } finally {
        LOCKED_HERE.delete(dir)
        rmSync(holder, {recursive: true, force: true})
      }
    },
  }
}
