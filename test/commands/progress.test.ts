// Progress on a real terminal (util-linux script): count, rate and time left on stderr for long
// runs; silent under --json and when stderr is not a terminal. Each run below ends with a last
// update (everything done), so what the final line says does not depend on timing.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {BIN, ROOT, tempDir, tsvm} from '../helpers/cli.js'
import {HAVE_SCRIPT, tsvmOnTty} from '../helpers/pty.js'

let dir: string
let cleanup: () => Promise<void>
before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-progress-'))
})
after(() => cleanup())

const payloads = (count: number) =>
  Array.from({length: count}, (_, i) => (i + 1).toString(16).padStart(64, '0')).join('\n') + '\n'

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`
const chain = () => join(dir, 'chain')

/** `tsvm ...args < input > out` with stderr alone on a terminal; returns what the terminal got. */
function stderrOnTty(args: string[], input: string, out: string): Promise<{code: number; output: string}> {
  const command = `${[process.execPath, BIN, ...args].map((a) => quote(a)).join(' ')} < ${quote(input)} > ${quote(out)}`
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: {...process.env, TERM: 'xterm-256color', NO_COLOR: '1'},
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let output = ''
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({code: code ?? 1, output}))
  })
}

describe('progress on a terminal', {skip: !HAVE_SCRIPT && 'util-linux script is not installed'}, () => {
  it('propose - (stdout to a file): accepted count with its rate', async () => {
    const input = join(dir, 'payloads.txt')
    await writeFile(input, payloads(1400))
    const r = await stderrOnTty(['propose', '-', '-d', chain(), '--timestamp', '1700000000'], input, join(dir, 'out'))
    assert.equal(r.code, 0, r.output)
    assert.match(r.output, /accepted 1,400\/1,400 {2}[\d,]+\/s/)
  })

  it('check of a chain: entries read, with rate; silent under --json and off a terminal', async () => {
    const r = await tsvmOnTty(['check', '-d', chain()], {NO_COLOR: '1'})
    assert.equal(r.code, 0, r.output)
    // 1,401 blocks: 3 × 1,401 entries expected; an update every 4,096 read
    assert.match(r.output, /checking 4,096\/4,203 {2}[\d,]+\/s {2}ETA \d+s/)
    assert.match(r.output, /ok: 1401 blocks/)
    const json = await tsvmOnTty(['check', '-d', chain(), '--json'], {NO_COLOR: '1'})
    assert.doesNotMatch(json.output, /checking/)
    const piped = await tsvm(['check', '-d', chain()])
    assert.equal(piped.stderr, '')
  })

  it('stamp of a large file: bytes hashed, with rate; batch verify: items checked', async () => {
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(40 * 1024 * 1024, 7))
    await writeFile(join(dir, 'small.txt'), 'small\n')
    const s = await tsvmOnTty(['stamp', join(dir, 'big.bin'), join(dir, 'small.txt'), '-d', chain()], {NO_COLOR: '1'})
    assert.equal(s.code, 0, s.output)
    assert.match(s.output, /hashing large files 40\.0 MiB\/40\.0 MiB {2}[\d.]+ [KMG]?i?B\/s/)
    assert.match(s.output, /writing receipts 2\/2/)
    const v = await tsvmOnTty(['verify', join(dir, 'big.bin'), join(dir, 'small.txt'), '-d', chain()], {NO_COLOR: '1'})
    assert.equal(v.code, 0, v.output)
    assert.match(v.output, /verifying 2\/2/)
    const json = await tsvmOnTty(['verify', join(dir, 'big.bin'), join(dir, 'small.txt'), '-d', chain(), '--json'])
    assert.doesNotMatch(json.output, /verifying|hashing/)
  })
})
