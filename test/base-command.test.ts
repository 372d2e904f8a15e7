import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {describe, it} from 'node:test'

import {colorFlag} from '../src/base-command.js'
import {tsvm} from './helpers/cli.js'
import {HAVE_SCRIPT, tsvmOnTty} from './helpers/pty.js'

// Any SGR escape: colour (ESC[36m), dim (ESC[2m), reset (ESC[39m) ...
const ESCAPE = /\u001B\[\d+m/
const VM_ID = 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc'

describe('colour on a terminal', {skip: HAVE_SCRIPT ? false : 'needs util-linux script for a pseudo-terminal'}, () => {
  it('is on by default, for results and errors', async () => {
    const [result, error] = await Promise.all([tsvmOnTty(['vm-id', 'timestampvm']), tsvmOnTty(['decode', 'zzz'])])
    assert.equal(result.code, 0, result.output)
    assert.match(result.output, ESCAPE)
    assert.ok(result.output.includes(`\u001B[36m${VM_ID}\u001B[39m`), result.output)
    assert.equal(error.code, 4, error.output)
    assert.match(error.output, /\u001B\[31mError:\u001B\[39m .*\[CB58_TOO_SHORT\]/)
  })

  it('is off with NO_COLOR set to any non-empty value, and with --no-color', async () => {
    const runs = await Promise.all([
      tsvmOnTty(['vm-id', 'timestampvm'], {NO_COLOR: '1'}),
      tsvmOnTty(['vm-id', 'timestampvm'], {NO_COLOR: 'yes'}),
      tsvmOnTty(['decode', 'zzz'], {NO_COLOR: '1'}),
      tsvmOnTty(['blocks', '--bogus'], {NO_COLOR: '1'}),
      tsvmOnTty(['vm-id', 'timestampvm', '--no-color']),
      tsvmOnTty(['decode', 'zzz', '--no-color']),
      tsvmOnTty(['blocks', '--bogus', '--no-color']),
      tsvmOnTty(['vm-id', 'timestampvm', '--color', '--no-color']),
      // --no-color wins over FORCE_COLOR; a flag is the user's choice for this one run.
      tsvmOnTty(['vm-id', 'timestampvm', '--no-color'], {FORCE_COLOR: '1'}),
    ])
    for (const r of runs) {
      assert.doesNotMatch(r.output, ESCAPE)
      assert.ok(r.output.includes(VM_ID) || r.output.includes('Error: '), r.output)
    }

    assert.deepEqual(
      runs.map((r) => r.code),
      [0, 0, 4, 2, 0, 4, 2, 0, 0],
    )
  })

  it('stays on with an empty NO_COLOR, with FORCE_COLOR over NO_COLOR, and with --color over NO_COLOR', async () => {
    const runs = await Promise.all([
      tsvmOnTty(['vm-id', 'timestampvm'], {NO_COLOR: ''}),
      tsvmOnTty(['vm-id', 'timestampvm'], {NO_COLOR: '1', FORCE_COLOR: '1'}),
      tsvmOnTty(['vm-id', 'timestampvm', '--color'], {NO_COLOR: '1'}),
      tsvmOnTty(['vm-id', 'timestampvm', '--no-color', '--color']),
    ])
    for (const r of runs) assert.ok(r.output.includes(`\u001B[36m${VM_ID}\u001B[39m`), r.output)
  })

  it('FORCE_COLOR=0 turns it off', async () => {
    const r = await tsvmOnTty(['vm-id', 'timestampvm'], {FORCE_COLOR: '0'})
    assert.equal(r.code, 0)
    assert.doesNotMatch(r.output, ESCAPE)
  })
})

describe('colour when piped', () => {
  it('is off by default and on with --color (results and errors)', async () => {
    const [plain, forced, error] = await Promise.all([
      tsvm(['vm-id', 'timestampvm'], {env: {NO_COLOR: undefined}}),
      tsvm(['vm-id', 'timestampvm', '--color'], {env: {NO_COLOR: undefined}}),
      tsvm(['decode', 'zzz', '--color'], {env: {NO_COLOR: undefined}}),
    ])
    assert.equal(plain.stdout, `${VM_ID}\n`)
    assert.equal(forced.stdout, `\u001B[36m${VM_ID}\u001B[39m\n`)
    assert.match(error.stderr, /^\u001B\[31mError:\u001B\[39m /)
  })

  it('--color and --no-color are global flags: every command takes them, --json stays plain', async () => {
    const [json, hash] = await Promise.all([
      tsvm(['vm-id', 'timestampvm', '--color', '--json']),
      tsvm(['hash', '--no-color', '-'], {input: 'x'}),
    ])
    assert.equal(json.code, 0, json.stderr)
    assert.equal(JSON.parse(json.stdout).vmID, VM_ID)
    assert.equal(hash.code, 0, hash.stderr)
  })
})

describe('colorFlag', () => {
  it('takes the last of --color / --no-color before --', () => {
    assert.equal(colorFlag([]), undefined)
    assert.equal(colorFlag(['x', '--json']), undefined)
    assert.equal(colorFlag(['--color']), true)
    assert.equal(colorFlag(['--no-color']), false)
    assert.equal(colorFlag(['--no-color', 'a', '--color']), true)
    assert.equal(colorFlag(['--color', '--no-color']), false)
    assert.equal(colorFlag(['a', '--', '--no-color']), undefined)
    assert.equal(colorFlag(['--color', '--', '--no-color']), true)
  })
})

describe('an error exit on a slow pipe', () => {
  // The child writes 2 MiB to a pipe nobody reads yet (so Node queues most of it), then ends as
  // BaseCommand.catch does: drained() and process.exit. The parent starts reading only after the
  // child has said, on stderr, that it is about to exit; without drained() the queued output is lost.
  it('keeps every byte written before process.exit', async () => {
    const moduleUrl = new URL('../src/base-command.js', import.meta.url).href
    const script = `
      const {drained} = await import(${JSON.stringify(moduleUrl)})
      const line = 'x'.repeat(1023) + '\\n'
      for (let i = 0; i < 2048; i++) process.stdout.write(line)
      process.stderr.write('exiting\\n')
      await drained(process.stdout)
      process.exit(6)
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout.pause()
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => String(d).includes('exiting') && resolve())
    })
    let bytes = 0
    child.stdout
      .on('data', (d: Buffer) => {
        bytes += d.length
      })
      .resume()
    const [code] = (await once(child, 'close')) as [number | null]
    assert.equal(code, 6)
    assert.equal(bytes, 2048 * 1024)
  })
})
