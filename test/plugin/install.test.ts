// tsvm plugin install / probe and scripts/build-plugin.sh through the real binary: the launcher is
// the only file written, named by the VM ID, mode 755, and works from anywhere; the probe plays the
// node's registration and fails clearly on each fault.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {chmod, copyFile, mkdir, readFile, readdir, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {protocolOfRelease} from '../../src/plugin/protocol.js'
import {ROOT, tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {PLUGIN_ENTRY} from './harness.js'

describe('protocol of an AvalancheGo release', () => {
  it('maps the supported releases, and says why another is refused', () => {
    assert.equal(protocolOfRelease('v1.14.2'), 45)
    assert.equal(protocolOfRelease('1.14.2'), 45)
    assert.equal(protocolOfRelease('avalanchego/1.14.1'), 44)
    assert.equal(protocolOfRelease('v1.13.3'), 42)
    assert.equal(protocolOfRelease('v1.13.5'), 43)
    assert.equal(protocolOfRelease('v1.15.0-fuji'), 46)
    assert.equal(protocolOfRelease('v1.13.2'), 'older')
    assert.equal(protocolOfRelease('v1.10.18'), 'older')
    assert.equal(protocolOfRelease('v1.14.3'), 'unknown')
    assert.equal(protocolOfRelease('v2.0.0'), 'unknown')
    assert.equal(protocolOfRelease('latest'), 'invalid')
  })
})

describe('tsvm plugin install and probe', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let vmID: string
  let launcher: string

  before(async () => {
    ;({dir, cleanup} = await tempDir('tsvm-plugin-install-'))
    const r = await tsvm(['vm-id', 'timestamp'])
    assert.equal(r.code, 0, r.stderr)
    vmID = r.stdout.trim()
  })
  after(async () => cleanup())

  it('writes exactly one executable launcher (755) named by the VM ID of "timestamp", with absolute paths, and prints the aliases entry', async () => {
    const plugins = join(dir, 'plugins')
    const {code, json, stderr} = await tsvmJson(['plugin', 'install', '--plugin-dir', plugins])
    assert.equal(code, 0, stderr)
    assert.equal(json.vmID, vmID)
    assert.equal(json.protocol, 45)
    assert.deepEqual(json.aliases, ['timestamp'])
    assert.deepEqual(await readdir(plugins), [vmID])
    launcher = join(plugins, vmID)
    assert.equal(json.launcher, launcher)
    assert.equal((await stat(launcher)).mode & 0o777, 0o755)
    const text = await readFile(launcher, 'utf8')
    assert.match(text, /^#!\/bin\/sh\n/)
    assert.ok(text.includes(`exec '${process.execPath}' '${PLUGIN_ENTRY}' --protocol 45\n`), text)
    // Again: the same file, left as it is.
    const again = await tsvmJson(['plugin', 'install', '--plugin-dir', plugins])
    assert.equal(again.code, 0)
    assert.equal(again.json.written, false)
    assert.deepEqual(await readdir(plugins), [vmID])
  })

  it('the human output names the VM ID, the protocol and the aliases line', async () => {
    const r = await tsvm(['plugin', 'install', '--plugin-dir', join(dir, 'plugins')])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`vmID +${vmID}`))
    assert.match(r.stdout, /protocol +45 \(AvalancheGo v1\.14\.2\)/)
    assert.ok(r.stdout.includes(`{"${vmID}":["timestamp"]}`), r.stdout)
  })

  it('probe: the installed launcher handshakes with protocol 45, answers Version, and exits after Shutdown + SIGTERM', async () => {
    const {code, json, stderr} = await tsvmJson(['plugin', 'probe', launcher])
    assert.equal(code, 0, stderr)
    assert.equal(json.protocol, 45)
    assert.match(json.version, /^tsvm\//)
    assert.ok(json.handshakeMs > 0)
    assert.match(json.address, /^127\.0\.0\.1:\d+$/)
    assert.deepEqual(json.exit, {code: 0, signal: null})
  })

  it('probe: a node of another protocol is refused clearly (exit 5, reason protocol-mismatch)', async () => {
    const {code, json} = await tsvmJson(['plugin', 'probe', launcher, '--protocol', '44'])
    assert.equal(code, 5)
    assert.equal(json.error.code, 'PLUGIN_PROBE_FAILED')
    assert.equal(json.error.reason, 'protocol-mismatch')
    assert.equal(json.error.announced, 45)
    assert.match(json.error.message, /announced rpcchainvm protocol 45 .*, not 44 .*--protocol 44/)
  })

  it('a copied launcher still works from another directory, started from yet another cwd', async () => {
    const elsewhere = join(dir, 'copied', 'deep')
    await mkdir(elsewhere, {recursive: true})
    const copy = join(elsewhere, 'my-vm')
    await copyFile(launcher, copy)
    await chmod(copy, 0o755)
    const {code, json, stderr} = await tsvmJson(['plugin', 'probe', copy], {cwd: elsewhere})
    assert.equal(code, 0, stderr)
    assert.equal(json.protocol, 45)
  })

  it('probe: a launcher that exits at once fails with its exit and stderr', async () => {
    const bad = join(dir, 'exits')
    await writeFile(bad, '#!/bin/sh\necho "cannot find my files" >&2\nexit 3\n', {mode: 0o755})
    const {code, json} = await tsvmJson(['plugin', 'probe', bad])
    assert.equal(code, 5)
    assert.equal(json.error.code, 'PLUGIN_PROBE_FAILED')
    assert.equal(json.error.reason, 'exited-before-handshake')
    assert.deepEqual(json.error.exit, {code: 3, signal: null})
    assert.match(json.error.message, /exited with code 3 before calling Runtime\/Initialize/)
    assert.match(json.error.stderr, /cannot find my files/)
  })

  it('probe: a launcher that never handshakes is killed after the handshake bound (exit 5, reason no-handshake)', async () => {
    const sleeper = join(dir, 'sleeps')
    await writeFile(sleeper, '#!/bin/sh\nexec /bin/sleep 60\n', {mode: 0o755})
    const {code, json} = await tsvmJson(['plugin', 'probe', sleeper, '--handshake-timeout', '300'])
    assert.equal(code, 5)
    assert.equal(json.error.reason, 'no-handshake')
    assert.match(json.error.message, /did not call Runtime\/Initialize within 300 ms/)
  })

  it('probe: a file that is not executable, and a missing one, are refused before any start', async () => {
    const plain = join(dir, 'plain')
    await writeFile(plain, '#!/bin/sh\nexit 0\n', {mode: 0o644})
    const notExec = await tsvmJson(['plugin', 'probe', plain])
    assert.equal(notExec.code, 5)
    assert.equal(notExec.json.error.reason, 'not-executable')
    const missing = await tsvmJson(['plugin', 'probe', join(dir, 'nothing-here')])
    assert.equal(missing.code, 3)
    assert.equal(missing.json.error.code, 'FILE_NOT_FOUND')
  })

  it('refuses AvalancheGo releases outside 42-46 and protocols outside them, writing nothing', async () => {
    const plugins = join(dir, 'refused')
    for (const args of [
      ['--avalanchego', 'v1.13.2'],
      ['--avalanchego', 'v1.16.0'],
      ['--avalanchego', 'nightly'],
      ['--protocol', '41'],
      ['--protocol', '47'],
    ]) {
      const {code, json} = await tsvmJson(['plugin', 'install', '--plugin-dir', plugins, ...args])
      assert.equal(code, 4, args.join(' '))
      assert.equal(json.error.code, 'PROTOCOL_UNSUPPORTED', args.join(' '))
    }

    const older = await tsvm(['plugin', 'install', '--plugin-dir', plugins, '--avalanchego', 'v1.13.2'])
    assert.match(older.stderr, /protocol 41 or older.*upgrade the node to v1\.13\.3 or later/)
    await assert.rejects(readdir(plugins), {code: 'ENOENT'})
  })

  it('--avalanchego picks the protocol; a different existing file is kept unless --force', async () => {
    const plugins = join(dir, 'plugins')
    const refused = await tsvmJson(['plugin', 'install', '--plugin-dir', plugins, '--avalanchego', 'v1.14.1'])
    assert.equal(refused.code, 2)
    assert.equal(refused.json.error.code, 'PLUGIN_FILE_EXISTS')
    assert.match(await readFile(launcher, 'utf8'), /--protocol 45\n/)
    const forced = await tsvmJson(['plugin', 'install', '--plugin-dir', plugins, '--avalanchego', 'v1.14.1', '--force'])
    assert.equal(forced.code, 0)
    assert.equal(forced.json.protocol, 44)
    assert.match(await readFile(launcher, 'utf8'), /--protocol 44\n/)
    assert.deepEqual(await readdir(plugins), [vmID])
    const probe = await tsvmJson(['plugin', 'probe', launcher, '--protocol', '44'])
    assert.equal(probe.code, 0, JSON.stringify(probe.json))
    assert.equal(probe.json.protocol, 44)
  })

  it('--name and --vm-id name the file; a name over 32 bytes is refused', async () => {
    const plugins = join(dir, 'named')
    const named = await tsvmJson(['plugin', 'install', '--plugin-dir', plugins, '--name', 'mychain'])
    assert.equal(named.code, 0)
    const byId = await tsvmJson(['plugin', 'install', '--plugin-dir', join(dir, 'by-id'), '--vm-id', named.json.vmID])
    assert.equal(byId.code, 0)
    assert.equal(byId.json.vmID, named.json.vmID)
    assert.deepEqual(byId.json.aliases, ['mychain'])
    const long = await tsvmJson(['plugin', 'install', '--plugin-dir', plugins, '--name', 'x'.repeat(33)])
    assert.equal(long.json.error.code, 'VM_NAME_TOO_LONG')
    assert.deepEqual(await readdir(plugins), [named.json.vmID])
  })

  it('scripts/build-plugin.sh <output-path> writes a working launcher there (avalanche-cli repo mode)', async () => {
    const cwd = join(dir, 'cli-home')
    await mkdir(cwd, {recursive: true})
    const r = await new Promise<{code: number | null; out: string}>((resolve) => {
      const child = spawn(join(ROOT, 'scripts', 'build-plugin.sh'), ['vms/tsvm'], {
        cwd,
        env: {...process.env, TSVM_NO_BUILD: '1', NO_COLOR: '1'},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString()
      })
      child.stderr.on('data', (b: Buffer) => {
        out += b.toString()
      })
      child.on('close', (code) => resolve({code, out}))
    })
    assert.equal(r.code, 0, r.out)
    const out = join(cwd, 'vms', 'tsvm')
    assert.deepEqual(await readdir(join(cwd, 'vms')), ['tsvm'])
    assert.equal((await stat(out)).mode & 0o777, 0o755)
    const probe = await tsvmJson(['plugin', 'probe', out])
    assert.equal(probe.code, 0, JSON.stringify(probe.json))
    assert.equal(probe.json.protocol, 45)
  })
})
