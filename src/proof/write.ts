// Writing receipt files so that a kill or a crash never leaves half of one in place.
//
// A receipt is written to a temp file in its own directory, `.<name>.tsvm.tmp-<pid>` (a dot name
// that stamp's directory walk never takes as an item), made durable, and only then moved to its
// name: renamed over an old receipt (--force), or linked to the name, which fails if the name
// exists, so an existing file is never replaced by accident. Last, the directories are made
// durable, so the names survive a power cut too. A reader therefore sees no receipt or a whole one.
//
// Durability is the cost: fdatasync of every file costs about 0.3 ms each on ext4 here (3 s for
// 10,000 receipts), while one syncfs(2) of the file system after all the writes costs a few
// milliseconds. Node has no syncfs binding, so the file systems are synced with coreutils'
// `sync -f` (syncfs(2) itself); where that is missing or fails, each file and directory is
// fsynced instead. Both give the same guarantee: no rename before its data is on disk.
import {execFileSync} from 'node:child_process'
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {TsvmError} from '../vm/errors.js'

/** A temp file of a receipt write, or a writability probe: `.<name>.tsvm.tmp-<pid>`. */
const TEMP_NAME = /^\..+\.tsvm\.tmp-(\d+)$/

/** True for the name of a temp file left by a receipt write (never a stamp item). */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name)
}

/** The pid in a temp file's name, or undefined when `name` is not one. */
export function tempOwner(name: string): number | undefined {
  const m = TEMP_NAME.exec(name)
  return m ? Number(m[1]) : undefined
}

/** The temp file a receipt at `target` is written to first by process `pid`. */
export function tempPath(target: string, pid = process.pid): string {
  return join(dirname(target), `.${basename(target)}.tmp-${pid}`)
}

/** True when process `pid` exists (EPERM: it exists but is another user's). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as {code?: string}).code === 'EPERM'
  }
}

const errno = (error: unknown): string | undefined => (error as {code?: string})?.code

/** Encoded receipt text goes through this buffer (one per thread), not a new one per file. */
const textBuf = Buffer.allocUnsafe(64 * 1024)

/** Creates the temp file `tmp` (replacing a stale one of an earlier process with this pid) holding `text`; `sync` fdatasyncs it. */
export function writeTemp(tmp: string, text: string, sync = false): void {
  let fd: number
  try {
    fd = openSync(tmp, 'wx')
  } catch (error) {
    if (errno(error) !== 'EEXIST') throw error
    unlinkSync(tmp)
    fd = openSync(tmp, 'wx')
  }

  try {
    if (text.length * 3 > textBuf.length) writeFileSync(fd, text)
    else {
      const n = textBuf.write(text)
      for (let off = 0; off < n;) off += writeSync(fd, textBuf, off, n - off)
    }

    if (sync) fdatasyncSync(fd)
  } catch (error) {
    closeSync(fd)
    removeQuietly(tmp)
    throw error
  }

  closeSync(fd)
}

/** Unlinks `path`, ignoring a file that is already gone. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error
  }
}

/**
 * Moves a written temp file to `target`. `replace`: rename over whatever is there. Otherwise the
 * target must not exist: the temp is hard-linked to it (which fails if it exists) and unlinked;
 * `adopt` decides whether an existing target may be replaced after all (a receipt of the same
 * run, when resuming), else the error is RECEIPT_EXISTS. Returns false when the existing target
 * was adopted as it is (same text).
 */
export function commitTemp(
  tmp: string,
  target: string,
  replace: boolean,
  adopt?: (target: string) => 'same' | 'replace' | 'foreign',
): boolean {
  if (replace) {
    renameSync(tmp, target)
    return true
  }

  try {
    linkSync(tmp, target)
  } catch (error) {
    const code = errno(error)
    if (code === 'EEXIST') {
      const verdict = adopt?.(target) ?? 'foreign'
      if (verdict === 'replace') {
        renameSync(tmp, target)
        return true
      }

      unlinkSync(tmp)
      if (verdict === 'same') return false
      throw new TsvmError(
        'RECEIPT_EXISTS',
        `receipt ${target} appeared while stamping: move it away, or pass --force to replace it`,
        {cause: error, details: {path: target}},
      )
    }

    // File systems without hard links (FAT, some network mounts): check, then rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error
    if (lstatSync(target, {throwIfNoEntry: false}) !== undefined) {
      unlinkSync(tmp)
      throw new TsvmError(
        'RECEIPT_EXISTS',
        `receipt ${target} appeared while stamping: move it away, or pass --force to replace it`,
        {details: {path: target}},
      )
    }

    renameSync(tmp, target)
    return true
  }

  unlinkSync(tmp)
  return true
}

/** fsyncs a directory, so the names created or renamed in it are durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** fdatasyncs the file at `path`. */
export function syncFile(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fdatasyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** How syncWritten makes data durable: syncfs of each file system (fast), or each path on its own (plain). */
export type SyncMethod = 'syncfs' | 'each'

let syncfsBroken = process.platform !== 'linux'

/** syncfs(2) of the file system of every dir in `dirs` (one call per device); false when it cannot be done here. */
function syncFileSystems(dirs: Iterable<string>): boolean {
  if (syncfsBroken) return false
  const byDevice = new Map<number, string>()
  for (const dir of dirs) {
    const s = statSync(dir, {throwIfNoEntry: false})
    if (s && !byDevice.has(s.dev)) byDevice.set(s.dev, dir)
  }

  try {
    // `sync -f` calls syncfs(2) and, since Linux 5.8, reports the file system's write-back errors.
    for (const dir of byDevice.values()) execFileSync('sync', ['-f', dir], {stdio: 'ignore', timeout: 600_000})
    return true
  } catch {
    syncfsBroken = true
    return false
  }
}

/**
 * Makes durable what was written under `dirs`: with 'syncfs', the file systems holding them;
 * with 'each' (or when syncfs is not available), `each()` is called to fsync the paths one by one.
 */
export function syncWritten(dirs: Iterable<string>, each: () => void, method: SyncMethod = 'syncfs'): SyncMethod {
  if (method === 'syncfs' && syncFileSystems(dirs)) return 'syncfs'
  each()
  return 'each'
}

/** Writes `path` atomically and durably: temp file, fdatasync, rename, fsync of the directory. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = tempPath(path)
  writeTemp(tmp, text, true)
  try {
    renameSync(tmp, path)
  } catch (error) {
    removeQuietly(tmp)
    throw error
  }

  syncDir(dirname(path))
}

/** Creates `path` atomically and durably, failing with RECEIPT_EXISTS when it exists. */
export function createFileAtomic(path: string, text: string): void {
  const tmp = tempPath(path)
  writeTemp(tmp, text, true)
  try {
    commitTemp(tmp, path, false)
  } catch (error) {
    removeQuietly(tmp)
    throw error
  }

  syncDir(dirname(path))
}

/** Where a run's receipts go, as checkWritable found it. */
export interface Destinations {
  /** Every directory that will hold or lead to a receipt: what to fsync to make the new names durable. */
  syncDirs: string[]
  /**
   * The highest directories on the receipts' paths that do not exist yet. Each is built whole
   * under a temp name (stagingPath) and renamed into place at once: one rename instead of one
   * per receipt, and nothing of it is visible before it is complete.
   */
  fresh: string[]
}

/** The temp name a new directory is built under: `.<name>.tsvm.tmp-<pid>` beside it. */
export function stagingPath(dir: string, pid = process.pid): string {
  return tempPath(dir + '.tsvm', pid)
}

/**
 * Checks, before anything is spent, that receipts can be created in every directory of `targets`:
 * the nearest existing directory of each is a directory, and a probe file can be created in it
 * and removed (the honest test: it catches permissions, read-only mounts and ACLs alike).
 * RECEIPT_UNWRITABLE names the first that fails.
 */
export function checkWritable(targets: readonly string[], say: {hint?: string; what?: string} = {}): Destinations {
  const hint = say.hint ?? 'nothing was proposed: pass --out DIR to write the receipts somewhere writable'
  const what = say.what ?? 'receipts'
  const existing = new Map<string, string>()
  const nearest = (dir: string): string => {
    let found = existing.get(dir)
    if (found !== undefined) return found
    let s
    try {
      s = lstatSync(dir, {throwIfNoEntry: false})
    } catch (error) {
      throw unwritable(dir, dir, error, what, hint)
    }

    if (s === undefined) {
      const up = dirname(dir)
      found = up === dir ? dir : nearest(up)
    } else if (s.isDirectory()) {
      found = dir
    } else {
      throw unwritable(dir, dir, Object.assign(new Error('not a directory'), {code: 'ENOTDIR'}), what, hint)
    }

    existing.set(dir, found)
    return found
  }

  const probed = new Set<string>()
  const syncDirs = new Set<string>()
  const fresh = new Set<string>()
  for (const dir of new Set(targets.map((t) => dirname(t)))) {
    const base = nearest(dir)
    if (!probed.has(base)) {
      probed.add(base)
      const probe = join(base, `.tsvm-probe.tsvm.tmp-${process.pid}`)
      try {
        closeSync(openSync(probe, 'wx'))
        unlinkSync(probe)
      } catch (error) {
        if (errno(error) === 'EEXIST') removeQuietly(probe)
        else throw unwritable(dir, base, error, what, hint)
      }
    }

    for (let d = dir; ; d = dirname(d)) {
      syncDirs.add(d)
      if (d !== base && dirname(d) === base) fresh.add(d)
      if (d === base || dirname(d) === d) break
    }
  }

  return {syncDirs: [...syncDirs], fresh: [...fresh]}
}

function unwritable(dir: string, base: string, error: unknown, what: string, hint: string): TsvmError {
  const code = errno(error) ?? 'EIO'
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'EROFS'
        ? 'read-only file system'
        : code === 'ENOTDIR'
          ? `${base} is not a directory`
          : code === 'ENOSPC'
            ? 'no space left'
            : (error as Error).message
  const where = base === dir ? dir : `${dir} (it would be created in ${base})`
  return new TsvmError('RECEIPT_UNWRITABLE', `cannot write ${what} in ${where}: ${why}; ${hint}`, {
    cause: error,
    details: {path: dir, errno: code},
  })
}

/** True when the tree at `dir` holds nothing but directories, receipts and temp files of receipts. */
function onlyReceipts(dir: string): boolean {
  return readdirSync(dir, {withFileTypes: true}).every((d) =>
    d.isDirectory() ? onlyReceipts(join(dir, d.name)) : d.isFile() && (d.name.endsWith('.tsvm') || isTempName(d.name)),
  )
}

/**
 * Removes the temp files of receipt writes in `dir` that belong to one of `names` (receipt base
 * names, or `<dir name>.tsvm` for a directory being built under its staging name) and whose
 * writing process is gone. A staging directory is removed only when it holds nothing but
 * receipts. Returns how many were removed.
 */
export function removeStaleTemps(dir: string, names: ReadonlySet<string>): number {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return 0
  }

  let removed = 0
  for (const name of entries) {
    const pid = tempOwner(name)
    if (pid === undefined || pid === process.pid || processAlive(pid)) continue
    const target = name.slice(1, name.lastIndexOf('.tmp-'))
    if (!names.has(target)) continue
    const path = join(dir, name)
    if (lstatSync(path).isDirectory()) {
      if (!onlyReceipts(path)) continue
      rmSync(path, {recursive: true, force: true})
    } else removeQuietly(path)
    removed++
  }

  return removed
}
