// Every command's --json, through the real binary, against the schema docs/json.md writes down:
// a missing, extra or wrongly typed field fails, and so does a command the page does not list.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {unverifiedJson} from '../../src/output/json.js'
import {TsvmError} from '../../src/vm/errors.js'
import {BIN, ROOT, tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {assertShape, check, contract, parseContract} from '../helpers/json-schema.js'
import {startServe} from '../helpers/serve.js'

const P1 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
const P2 = '3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d'
const P3 = '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'

/** The type names in a type expression (no literals). */
function typeNames(expr: string): string[] {
  return expr
    .split('|')
    .map((t) => t.trim().replace(/\[\]$/, ''))
    .filter((t) => !t.startsWith('"') && t !== 'any')
}

/** Runs tsvm until it says it halted (TSVM_TEST_HALT_STAMP), then SIGKILLs it: a stamp killed after its block was accepted. */
function runUntilHalted(args: string[], cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const inherited: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TSVM_')) inherited[k] = v
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: {...inherited, ...env},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString()
      if (err.includes('halted in the')) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('close', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`tsvm ended with ${code} before halting:\n${err}`)),
    )
  })
}

/** The result types docs/json.md lists for a command. */
function listed(command: string): string[] {
  const types = contract().commands.get(command)
  assert.ok(types, `docs/json.md lists no result for ${command}`)
  return types
}

describe('--json output matches docs/json.md', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let chain: string
  const seen = new Map<string, Set<string>>()
  const env = () => ({XDG_DATA_HOME: join(dir, 'xdg')})

  /** Runs `tsvm ...args --json`, expects `code`, and checks stdout as `type` (which the page must list for the command). */
  async function run(args: string[], type: string, code = 0): Promise<any> {
    const command = args[0] === 'plugin' ? `plugin ${args[1]}` : args[0]!
    const r = await tsvmJson(args, {cwd: dir, env: env()})
    assert.equal(r.code, code, `tsvm ${args.join(' ')} exited ${r.code}: ${r.stderr}\n${JSON.stringify(r.json)}`)
    if (type !== 'Error') assert.ok(listed(command).includes(type), `docs/json.md does not list ${type} for ${command}`)
    assertShape(r.json, type, `tsvm ${args.join(' ')} --json`)
    seen.set(command, (seen.get(command) ?? new Set()).add(type))
    return r.json
  }

  before(async () => {
    ;({dir, cleanup} = await tempDir('tsvm-json-'))
    chain = join(dir, 'chain')
    for (const name of ['a.txt', 'b.txt', 'c.txt', 'd.txt']) await writeFile(join(dir, name), `${name}\n`)
  })
  after(() => cleanup())

  it('chain commands print Block, BlockList, Propose, Mempool, Init', async () => {
    const d = ['--data-dir', chain]
    const init = await run(['init', ...d], 'Init')
    assert.equal(init.block.status, 'Accepted')
    const proposed = await run(['propose', P1, '--timestamp', '1700000000', ...d], 'Propose')
    assert.equal(proposed.blocks.length, 1)
    assert.equal(proposed.blocks[0].dataHex, P1)
    const id = proposed.blocks[0].id as string
    assert.deepEqual(await run(['get-block', id, ...d], 'Block'), proposed.blocks[0])
    assert.deepEqual(await run(['get-block', ...d], 'Block'), proposed.blocks[0])
    assert.deepEqual(await run(['get-block', '--height', '1', ...d], 'Block'), proposed.blocks[0])
    assert.deepEqual(await run(['last-accepted', ...d], 'Block'), proposed.blocks[0])
    assert.deepEqual((await run(['get-block', '--data', P1, ...d], 'BlockList')).blocks, proposed.blocks)
    const list = await run(['blocks', '-n', '5', ...d], 'BlockList')
    assert.deepEqual(list.blocks[0], proposed.blocks[0])
    assert.deepEqual(list.blocks[1], init.block)

    await run(['propose', P2, '--no-wait', ...d], 'Propose')
    const queued = await run(['mempool', ...d], 'Mempool')
    assert.equal(queued.payloads[0].dataHex, P2)
    const built = await run(['build', '--timestamp', '1700000060', ...d], 'Block')
    assert.equal(built.status, 'Processing')
    const building = await run(['mempool', ...d], 'Mempool')
    assert.deepEqual(building.blocks, [built])
    assert.equal((await run(['accept', built.id, ...d], 'Block')).status, 'Accepted')
    await run(['propose', P3, '--no-wait', ...d], 'Propose')
    const other = await run(['build', '--timestamp', '1700000120', ...d], 'Block')
    assert.equal((await run(['reject', other.id, ...d], 'Block')).status, 'Rejected')
    const parsed = await run(['parse-block', built.bytes], 'Block')
    assert.deepEqual(parsed, {...built, status: null})
    await run(['get-block', '11111111111111111111111111111111LpoYY', ...d], 'Error', 3)
  })

  it('chain maintenance prints Check, Adopt, Repair', async () => {
    const d = ['--data-dir', chain]
    const report = await run(['check', ...d], 'Check')
    assert.equal(report.blockCount, 4)
    assert.equal((await run(['adopt', ...d], 'Adopt')).adopted, null)
    await run(['repair', '--no-backup', ...d], 'Repair')
  })

  it('stamp, verify, info and upgrade print one Block shape inside', async () => {
    const d = ['--data-dir', chain]
    const one = await run(['stamp', 'a.txt', ...d], 'Stamp')
    assert.equal(one.status, 'complete')
    assert.equal(one.block.dataHex, one.payload.dataHex)
    const two = await run(['stamp', 'b.txt', 'c.txt', '--out', 'proofs', ...d], 'Stamp')
    assert.equal(two.receipts.length, 2)
    await mkdir(join(dir, 'many'))
    for (let i = 0; i < 70; i++) await writeFile(join(dir, 'many', `f${i}`), `${i}\n`)
    await runUntilHalted(['stamp', 'many', '--data-dir', chain], dir, {...env(), TSVM_TEST_HALT_STAMP: 'write:64'})
    const resumed = await run(['stamp', '--resume'], 'Resume')
    assert.equal(resumed.runs.length, 1)
    assert.equal(resumed.runs[0].status, 'complete')
    assert.equal(resumed.runs[0].receipts.length, 70)
    assert.equal(resumed.runs[0].block.dataHex, resumed.runs[0].payload.dataHex)
    await mkdir(join(dir, 'ctrlc'))
    for (let i = 0; i < 3; i++) await writeFile(join(dir, 'ctrlc', `g${i}`), `g${i}\n`)
    const stopped = await tsvm(['stamp', 'ctrlc', ...d, '--json'], {
      cwd: dir,
      env: {...env(), TSVM_TEST_PAUSE_STAMP: 'proposed'},
      interruptOn: /paused after the proposal/,
    })
    assert.equal(stopped.code, 130, stopped.stderr)
    const interrupted = JSON.parse(stopped.stdout)
    assertShape(interrupted, 'StampInterrupted', 'stamp after Ctrl-C')
    assert.deepEqual([interrupted.stage, interrupted.notWritten.length], ['proposed', 3])
    seen.set('stamp', (seen.get('stamp') ?? new Set()).add('StampInterrupted'))
    const finished = await run(['stamp', '--resume'], 'Resume')
    assert.equal(finished.runs[0].block.id, interrupted.blockID)
    const pending = await run(['stamp', 'd.txt', '--no-wait', ...d], 'Stamp')
    assert.equal(pending.block, null)

    const verified = await run(['verify', 'a.txt', ...d], 'Verification')
    assert.equal(verified.status, 'verified')
    assert.deepEqual(verified.block, one.block)
    assert.equal(verified.error, null)
    const unanchored = await run(['verify', 'a.txt'], 'Error', 3)
    assertShape(unanchored.error.result, 'Verification', 'verify (unanchored) error.result')
    assert.equal(unanchored.error.result.error.code, 'UNANCHORED')
    assert.equal(unanchored.error.result.block.status, null)
    await run(['verify', 'c.txt', '--receipt', join('proofs', 'b.txt.tsvm'), ...d], 'Error', 4)
    // several items: one Verification each, as verify prints it alone; b.txt's receipt is under proofs/
    const batch = await run(['verify', 'a.txt', 'b.txt', 'd.txt', ...d], 'VerifyBatch', 3)
    assert.deepEqual(
      batch.results.map((r: {path: string; status: string}) => [r.path, r.status]),
      [
        ['a.txt', 'verified'],
        ['b.txt', 'missing'],
        ['d.txt', 'pending'],
      ],
    )
    assert.deepEqual(batch.results[0], verified)
    assert.deepEqual([batch.results[1].error.code, batch.results[1].check], ['FILE_NOT_FOUND', 'receipt'])
    assert.deepEqual(
      [batch.summary.itemCount, batch.summary.verifiedCount, batch.summary.missingCount, batch.summary.pendingCount],
      [3, 1, 1, 1],
    )
    const offline = await run(['verify', 'a.txt', 'a.txt.tsvm.none'], 'VerifyBatch', 3)
    assert.deepEqual(offline.results[0], unanchored.error.result)

    const info = await run(['info', 'a.txt.tsvm'], 'ReceiptInfo')
    assert.equal(info.check.path, null)
    assert.equal(info.check.status, 'consistent')

    await run(['upgrade', 'd.txt.tsvm', ...d], 'Error', 3)
    await run(['build', ...d], 'Block')
    const last = await run(['last-accepted', ...d], 'Block')
    const built = (await run(['mempool', ...d], 'Mempool')).blocks[0]
    await run(['accept', built.id, ...d], 'Block')
    assert.notEqual(built.id, last.id)
    const upgraded = await run(['upgrade', 'd.txt.tsvm', ...d], 'UpgradeList')
    assert.equal(upgraded.receipts[0].status, 'upgraded')
    assert.equal(upgraded.receipts[0].block.id, built.id)
    const headers = await run(['upgrade', 'a.txt.tsvm', '--checkpoint', 'last', ...d], 'UpgradeList')
    const {checkpoint} = headers.receipts[0]
    assert.equal(checkpoint.id, built.id)
    assert.ok(headers.receipts[0].headerCount > 0)
    const trusted = await run(['verify', 'a.txt', '--trust', checkpoint.id], 'Verification')
    assert.equal(trusted.trust, 'anchored-checkpoint')
    assert.deepEqual(trusted.checkpoint, {...checkpoint, status: null})
  })

  it('encoding commands print Hash, Genesis, Encoded, Decoded, VmId, Alias, Completion', async () => {
    const hashed = await run(['hash', 'a.txt', 'missing.txt'], 'Hash', 3)
    assert.equal(hashed.files[0].path, 'a.txt')
    assert.equal(hashed.errors[0].code, 'FILE_NOT_FOUND')
    const genesis = await run(['genesis', 'e2e'], 'Genesis')
    assert.equal(genesis.genesis, '653265')
    assert.equal(genesis.block.id, 'SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ')
    const encoded = await run(['encode', 'hi'], 'Encoded')
    assert.equal(encoded.encoded, '0x6869dc327aa4')
    assert.equal((await run(['decode', encoded.encoded], 'Decoded')).text, 'hi')
    const vm = await run(['vm-id', 'timestampvm'], 'VmId')
    const padded = await run(['decode', vm.vmID], 'Decoded')
    assert.equal(padded.zeroPadding, 21)
    await run(['alias', 'timestampvm', 'tsvm', '--file', join(dir, 'aliases.json')], 'Alias')
    assert.match((await run(['completion', 'bash'], 'Completion')).script, /complete -F/)
  })

  it('serve and plugin print Serve, PluginInstall, PluginProbe', async () => {
    const served = await startServe(['--data-dir', join(dir, 'served')])
    try {
      assert.ok(listed('serve').includes('Serve'))
      assertShape(served.info, 'Serve', 'tsvm serve --json')
      seen.set('serve', new Set(['Serve']))
    } finally {
      await served.stop()
    }

    const plugins = join(dir, 'plugins')
    await mkdir(plugins)
    const installed = await run(['plugin', 'install', '--plugin-dir', plugins], 'PluginInstall')
    assert.deepEqual(installed.aliases, ['timestamp'])
    await run(['plugin', 'probe', installed.launcher], 'PluginProbe')
  })

  it('ran every command docs/json.md lists, as every result type it lists', () => {
    for (const [command, types] of contract().commands) {
      assert.deepEqual([...(seen.get(command) ?? [])].filter((t) => t !== 'Error').sort(), [...types].sort(), command)
    }
  })
})

describe('docs/json.md', () => {
  it('lists every command of the manifest but help, and defines every type it names', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, unknown>
    }
    const ids = Object.keys(manifest.commands)
      .filter((id) => id !== 'help')
      .map((id) => id.replaceAll(':', ' '))
    const c = contract()
    assert.deepEqual([...c.commands.keys()].sort(), ids.sort())
    for (const [name, type] of c.types)
      for (const field of type.fields)
        for (const t of typeNames(field.type))
          assert.ok(c.scalars.has(t) || c.types.has(t), `${name}.${field.name}: ${t} is not defined`)
    for (const types of c.commands.values()) for (const t of types) assert.ok(c.types.has(t), `${t} is not defined`)
  })

  it('an item whose receipt cannot be read is a Verification too (a batch reports it and goes on)', () => {
    const missing = new TsvmError('FILE_NOT_FOUND', 'receipt x.pdf.tsvm not found: stamp the item first')
    const entry = unverifiedJson('x.pdf', 'x.pdf.tsvm', missing)
    assertShape(entry, 'Verification')
    assert.deepEqual([entry.status, entry.error?.code, entry.error?.exitCode], ['error', 'FILE_NOT_FOUND', 3])
  })

  it('the validator fails on a missing, an extra and a wrongly typed field', () => {
    const c = parseContract(
      [
        '## Scalar types',
        '| type | JSON | pattern | meaning |',
        '|---|---|---|---|',
        '| `string` | string | | |',
        '| `Uint64` | string | `^(0\\|[1-9][0-9]*)$` | |',
        '| `null` | null | | |',
        '## Shared types',
        '### T',
        '| field | type | meaning |',
        '|---|---|---|',
        '| `a` | `Uint64` | |',
        '| `b` | `string \\| null` | |',
      ].join('\n'),
    )
    assert.deepEqual(check({a: '1', b: null}, 'T', '$', c), [])
    assert.equal(check({a: '1'}, 'T', '$', c).length, 1)
    assert.equal(check({a: '1', b: 'x', c: 1}, 'T', '$', c).length, 1)
    assert.equal(check({a: 1, b: 'x'}, 'T', '$', c).length, 1)
    assert.equal(check({a: '01', b: 'x'}, 'T', '$', c).length, 1)
    assert.equal(check({a: '1', b: 2}, 'T', '$', c).length, 1)
  })
})
