// Pipes and interrupts through the real binary: a closed stdout stops a listing; SIGINT stops a
// long propose/stamp cleanly with a summary.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {BIN, ROOT, tempDir, tsvm} from '../helpers/cli.js'

let root: string
let cleanup: () => Promise<void>
let n = 0
before(async () => {
  ;({dir: root, cleanup} = await tempDir('tsvm-pipes-'))
})
after(() => cleanup())
const newDir = (): string => join(root, `chain-${n++}`)

/** `count` distinct payloads, one per line. */
function payloadLines(count: number, seed = 0): string {
  const lines: string[] = []
  for (let i = 0; i < count; i++) lines.push((seed * 1_000_000 + i + 1).toString(16).padStart(64, '0'))
  return lines.join('\n') + '\n'
}

const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1'}
  for (const k of Object.keys(e)) if (k.startsWith('TSVM_')) delete e[k]
  return e
}

describe('blocks | head -1', () => {
  it('stops the walk when the reader has gone', async () => {
    const d = newDir()
    const total = 3000
    const proposed = await tsvm(['propose', '-', '--timestamp', '1700000000', '-d', d], {input: payloadLines(total)})
    assert.equal(proposed.code, 0, proposed.stderr)
    // The reader takes the first chunk and closes the pipe. The listing (~300 KB) is far more than a
    // pipe holds, so the child is still writing then and meets EPIPE: no timing is involved.
    const child = spawn(process.execPath, [BIN, 'blocks', '-n', String(total + 1), '-d', d], {cwd: ROOT, env: {...env(), TSVM_DEBUG: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let first = ''
    child.stdout.once('data', (b: Buffer) => {
      first = b.toString()
      child.stdout.destroy()
    })
    let err = ''
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 0, err)
    assert.match(first, /^3000 {2}\S+ {2}Accepted/)
    const stopped = /blocks: stdout closed, stopped before height (\d+)/.exec(err)
    assert.ok(stopped, `the walk went on to the end:\n${err}`)
    assert.ok(Number(stopped[1]) > 0)
  })
})
