// Exit codes a script relies on, through the real binary.
import assert from 'node:assert/strict'
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {toTsvmError} from '../../src/errors.js'
import {type RunResult, tempDir, tsvm, tsvmUnprivileged} from '../helpers/cli.js'

let root: string
let cleanup: () => Promise<void>
before(async () => {
  ;({dir: root, cleanup} = await tempDir('tsvm-exit-'))
})
after(() => cleanup())

/** The real binary as a user permissions apply to (root ignores them): `nobody` when the runner is root. */
const unprivileged = (args: string[]): Promise<RunResult> | undefined =>
  tsvmUnprivileged(args, {cwd: root, env: {HOME: root}})

describe('permission errors', () => {
  it("name the path and say what to do, with PERMISSION_DENIED (exit 4), not Node's raw text", async (t) => {
    await chmod(root, 0o755)
    const locked = join(root, 'locked')
    const dir = join(root, 'closed')
    await writeFile(locked, 'x')
    await mkdir(dir)
    await writeFile(join(dir, 'a'), 'a')
    await chmod(locked, 0o000)
    await chmod(dir, 0o000)
    await mkdir(join(root, 'chain'), {mode: 0o777})
    await chmod(join(root, 'chain'), 0o777)
    const runs = [unprivileged(['hash', locked]), unprivileged(['stamp', dir, '--no-wait', '-d', join(root, 'chain')])]
    if (runs[0] === undefined) return t.skip('cannot run as an unprivileged user here')
    const [file, tree] = (await Promise.all(runs)) as RunResult[]
    assert.equal(file!.code, 4, file!.stderr)
    assert.equal(
      file!.stderr,
      `Error: cannot read ${locked}: permission denied: fix its permissions (or its folder's), or run as a user who may read it [PERMISSION_DENIED]\n`,
    )
    assert.equal(tree!.code, 4, tree!.stderr)
    assert.match(tree!.stderr, new RegExp(`cannot read ${dir}: permission denied.*\\[PERMISSION_DENIED\\]`))
    assert.doesNotMatch(file!.stderr + tree!.stderr, /EACCES|lstat|scandir/)
  })

  it('an EACCES from anywhere becomes PERMISSION_DENIED naming its path', () => {
    const raw = Object.assign(new Error("EACCES: permission denied, scandir '/srv/x'"), {
      code: 'EACCES',
      syscall: 'scandir',
      path: '/srv/x',
      errno: -13,
    })
    const e = toTsvmError(raw)
    assert.equal(e.code, 'PERMISSION_DENIED')
    assert.match(e.message, /^cannot read \/srv\/x: permission denied/)
    const full = toTsvmError(
      Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        syscall: 'write',
        path: '/srv/y',
      }),
    )
    assert.deepEqual([full.code, full.message], ['IO_ERROR', 'cannot write /srv/y: no space left on the device'])
  })
})

describe('vm-id --reverse', () => {
  it('of an ID that was not made from a name exits 3 (VM_NAME_UNKNOWN), with nothing on stdout', async () => {
    const r = await tsvm(['vm-id', '--reverse', 'inBxtZcnZp684WLyCifWbCTF4jt8ntSfURdjJXis33UmgL1Zf'])
    assert.deepEqual([r.code, r.stdout], [3, ''])
    assert.match(r.stderr, /was not made from a name.*\[VM_NAME_UNKNOWN\]/)
  })
})
