// Pipes and interrupts through the real binary: a closed stdout stops a listing; SIGINT stops a
// long propose/stamp cleanly with a summary.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
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
    const child = spawn(process.execPath, [BIN, 'blocks', '-n', String(total + 1), '-d', d], {
      cwd: ROOT,
      env: {...env(), TSVM_DEBUG: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let first = ''
    child.stdout.once('data', (b: Buffer) => {
      first = b.toString()
      child.stdout.destroy()
    })
    let err = ''
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString()
    })
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve)
    })
    assert.equal(code, 0, err)
    assert.match(first, /^3000 {2}\S+ {2}Accepted/)
    const stopped = /blocks: stdout closed, stopped before height (\d+)/.exec(err)
    assert.ok(stopped, `the walk went on to the end:\n${err}`)
    assert.ok(Number(stopped[1]) > 0)
  })
})

describe('Ctrl-C during propose -', () => {
  // Far more payloads than one group (4,097): the interrupt arrives while groups remain.
  const total = 200_000

  it('--json: exit 130 with one valid JSON object listing what was accepted and what was not; check passes', async () => {
    const d = newDir()
    const input = payloadLines(total)
    const r = await tsvm(['propose', '-', '--timestamp', '1700000000', '-d', d, '--json'], {
      input,
      env: {TSVM_DEBUG: '1'},
      interruptOn: /accepted \d+\//,
    })
    assert.equal(r.code, 130, r.stderr)
    const json = JSON.parse(r.stdout)
    assert.equal(json.interrupted, true)
    assert.ok(json.queued > 0 && json.queued < total, `queued ${json.queued}`)
    assert.equal(json.blocks.length, json.queued)
    assert.equal(json.notProposed.length, total - json.queued)
    const lines = input.trim().split('\n')
    assert.equal(json.blocks.at(-1).dataHex, lines[json.queued - 1])
    assert.equal(json.notProposed[0].dataHex, lines[json.queued])
    const check = await tsvm(['check', '-d', d, '--json'])
    const report = JSON.parse(check.stdout)
    assert.deepEqual([check.code, report.ok, report.lastAcceptedHeight], [0, true, String(json.queued)])
  })

  it('without --json: the accepted blocks are all printed, and stderr says how far it got', async () => {
    const d = newDir()
    const r = await tsvm(['propose', '-', '--timestamp', '1700000000', '-d', d], {
      input: payloadLines(total, 1),
      env: {TSVM_DEBUG: '1'},
      interruptOn: /accepted \d+\//,
    })
    assert.equal(r.code, 130, r.stderr)
    const printed = r.stdout.trim().split('\n').length
    const summary =
      /interrupted: (\d+) of 200000 payloads accepted .* (\d+) not proposed; the first not proposed is payload (\d+)/.exec(
        r.stderr,
      )
    assert.ok(summary, r.stderr)
    assert.equal(Number(summary[1]), printed)
    assert.equal(Number(summary[2]), total - printed)
    const last = await tsvm(['last-accepted', '-d', d, '--json'])
    assert.equal(JSON.parse(last.stdout).height, String(printed))
  })
})

describe('Ctrl-C during stamp', () => {
  it('before the proposal (stamp - waiting for its input): exit 130, nothing spent, the chain untouched', async () => {
    const home = join(root, `home-${n++}`)
    const d = newDir()
    const e = {HOME: home, XDG_DATA_HOME: join(home, 'share')}
    assert.equal((await tsvm(['init', '-d', d])).code, 0)
    // stdin stays open, so stamp waits for hashes; the signal goes once it says it has started
    const r = await new Promise<{code: number | null; stderr: string}>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'stamp', '-', '-d', d], {
        cwd: ROOT,
        env: {...env(), ...e, TSVM_DEBUG: '1'},
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let err = ''
      let sent = false
      child.stdin.write('ab'.repeat(32) + '\n')
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString()
        if (!sent && /stamp: started/.test(err)) {
          sent = true
          child.kill('SIGINT')
        }
      })
      child.stdout.resume()
      child.on('error', reject)
      child.on('close', (code) => resolve({code, stderr: err}))
    })
    assert.equal(r.code, 130, r.stderr)
    assert.match(r.stderr, /interrupted before anything was proposed: nothing was spent/)
    const last = await tsvm(['last-accepted', '-d', d, '--json'])
    assert.equal(JSON.parse(last.stdout).height, '0')
    const resumed = await tsvm(['stamp', '--resume'], {env: e})
    assert.deepEqual([resumed.code, resumed.stdout], [0, 'no interrupted stamp run to finish\n'])
  })
})

describe('stdin is read only where - asks for it', () => {
  it('proposes the SHA-256 of stdin, as its not-found hint says (once: - twice is a usage error)', async () => {
    const d = ['--data-dir', newDir()]
    const r = await tsvm(['propose', '--file', '-', '--json', ...d], {input: 'hello\n'})
    assert.equal(r.code, 0, r.stdout)
    // sha256("hello\n"), whatever the JSON field is named
    assert.match(r.stdout, /"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"/)
    const twice = await tsvm(['propose', '--file', '-', '--file', '-', ...d], {input: 'x'})
    assert.equal(twice.code, 2)
  })
})

describe('Ctrl-C during stamp, once the block is accepted', () => {
  for (const json of [false, true]) {
    it(`${json ? '--json: one JSON object with' : 'says'} what was written and what was not, exit 130; --resume finishes with the same block; check passes`, async () => {
      const home = join(root, `home-${n++}`)
      const d = newDir()
      const e = {HOME: home, XDG_DATA_HOME: join(home, 'share')}
      const files = join(root, `files-${n++}`)
      await mkdir(files)
      for (let i = 0; i < 20; i++) await writeFile(join(files, `f${i}.txt`), `file ${i}\n`)
      // the run pauses (event loop free) once its payload is proposed; the signal goes then
      const r = await tsvm(['stamp', files, '--out', join(files, 'proofs'), '-d', d, ...(json ? ['--json'] : [])], {
        env: {...e, TSVM_TEST_PAUSE_STAMP: 'proposed'},
        interruptOn: /paused after the proposal/,
      })
      assert.equal(r.code, 130, r.stderr)
      const summary =
        /interrupted: block (\S+) holds its payload; 0 of 20 receipts are written, 20 are not: run `tsvm stamp --resume`/.exec(
          r.stderr,
        )
      assert.ok(summary, r.stderr)
      if (json) {
        const state = JSON.parse(r.stdout)
        assert.deepEqual(
          [state.interrupted, state.stage, state.blockID, state.height, state.written.length, state.notWritten.length],
          [true, 'proposed', summary[1], '1', 0, 20],
        )
      } else assert.equal(r.stdout, '')

      const resumed = await tsvm(['stamp', '--resume', '--json'], {env: e})
      assert.equal(resumed.code, 0, resumed.stderr)
      const [run] = JSON.parse(resumed.stdout).runs
      assert.deepEqual([run.status, run.block.id, run.receipts.length], ['complete', summary[1], 20])
      const last = await tsvm(['last-accepted', '-d', d, '--json'])
      assert.equal(JSON.parse(last.stdout).height, '1', 'no second block')
      const check = await tsvm(['check', '-d', d])
      assert.equal(check.code, 0, check.stderr)
      const verified = await tsvm(['verify', files, '--out', join(files, 'proofs'), '-d', d])
      assert.equal(verified.code, 0, verified.stderr)
    })
  }
})
