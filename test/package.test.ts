// The npm package as a user gets it: packed, installed into a throwaway prefix with a throwaway
// HOME, and run from that prefix's bin/, away from this repository and its node_modules.
//
// The files npm packs from the repository are copied to a staging folder, which gets the real
// prepack step (scripts/pack.mjs) and is packed there with --ignore-scripts: a real prepack in the
// repository would rebuild dist/ under the tests running from it (`npm test` has just built it)
// and edit package.json. .ci/run packs the repository itself, with prepack and postpack.
// The install is --offline: dependencies come from the npm cache (filled by `npm ci`, and with
// the registry's metadata by the install step of .ci/run). On a cache without that metadata the
// install test is skipped, with the reason, instead of going to the network.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {copyFile, mkdir, readFile, readdir, writeFile} from 'node:fs/promises'
import {dirname, join, sep} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {PARALLEL_MIN_ITEMS} from '../src/proof/threads.js'
import {ROOT, tempDir} from './helpers/cli.js'

// The npm cache of the user running the tests (npm passes it to scripts as npm_config_cache).
const npmCache = process.env.npm_config_cache
// Under `npm test`, npm passes its settings to the tests as npm_* variables, among them the
// project folder (npm_config_local_prefix), which would make an npm run in another folder act
// on this repository: children get the environment without them, as in a user's shell.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))

const run = (command: string, args: string[], options: {cwd: string; env?: Record<string, string>; input?: string}) =>
  new Promise<{code: number; stdout: string; stderr: string}>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: {...baseEnv, ...options.env},
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString()}),
    )
    child.stdin.end(options.input ?? '')
  })

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
  scripts: Record<string, string>
}

describe('the npm package', () => {
  let work: {dir: string; cleanup: () => Promise<void>}
  let packed: {filename: string; files: Array<{path: string}>}

  before(async () => {
    work = await tempDir('tsvm-package-')
    const listed = await run('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {cwd: ROOT})
    assert.equal(listed.code, 0, listed.stderr)
    const files = (JSON.parse(listed.stdout) as Array<typeof packed>)[0]!.files.map((f) => f.path)
    const stage = join(work.dir, 'stage')
    for (const file of files) {
      await mkdir(dirname(join(stage, file)), {recursive: true})
      await copyFile(join(ROOT, file), join(stage, file))
    }

    const prepack = await run(process.execPath, [join(ROOT, 'scripts', 'pack.mjs'), 'prepack'], {cwd: stage})
    assert.equal(prepack.code, 0, prepack.stderr)
    const r = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work.dir], {cwd: stage})
    assert.equal(r.code, 0, r.stderr)
    packed = (JSON.parse(r.stdout) as Array<typeof packed>)[0]!
    assert.deepEqual(packed.files.map((f) => f.path).sort(), files.sort())
  })
  after(() => work?.cleanup())

  it('holds what runs and nothing else: bin/run.js, dist/bundle, the oclif manifest, README, LICENSE', async () => {
    const paths = packed.files.map((f) => f.path).sort()
    const bundle = paths.filter((p) => p.startsWith('dist/bundle/'))
    assert.deepEqual(
      paths.filter((p) => !p.startsWith('dist/bundle/')),
      ['LICENSE', 'README.md', 'bin/run.js', 'oclif.manifest.json', 'package.json'],
    )
    assert.deepEqual(
      bundle.filter((p) => !p.endsWith('.js')),
      [],
      'dist/bundle holds only JavaScript (no receipts, no source maps)',
    )
    // Every command the manifest names is in the package (topic commands such as `plugin install`
    // live in folders), and so are the entry points: the CLI, the stamp worker and the AvalancheGo plugin.
    const manifest = JSON.parse(await readFile(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, unknown>
    }
    const sources = (await readdir(join(ROOT, 'src', 'commands'), {recursive: true})).filter((f) => f.endsWith('.ts'))
    const commands = sources.map((f) => f.replace(/\.ts$/, '').split(sep).join('/')).sort()
    assert.deepEqual(
      Object.keys(manifest.commands).sort(),
      commands.map((c) => c.replaceAll('/', ':')),
    )
    for (const name of ['main', 'stamp-worker', 'plugin', ...commands.map((c) => `commands/${c}`)]) {
      assert.ok(bundle.includes(`dist/bundle/${name}.js`), `dist/bundle/${name}.js is not in the package`)
    }
  })

  it('installs from the tarball into a new prefix and runs from its bin/', async (t) => {
    const home = join(work.dir, 'home')
    const prefix = join(work.dir, 'prefix')
    await mkdir(home)
    // The cache of the user running the tests, not the throwaway HOME's.
    const cache = npmCache ?? (await run('npm', ['config', 'get', 'cache'], {cwd: ROOT})).stdout.trim()
    const env = {HOME: home}
    const install = await run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--cache',
        cache,
        '--offline',
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
        join(work.dir, packed.filename),
      ],
      {cwd: work.dir, env},
    )
    if (install.code !== 0 && /ENOTCACHED/.test(install.stderr)) {
      t.skip(`the npm cache (${cache}) lacks the dependencies' registry metadata; .ci/run fills it`)
      return
    }

    assert.equal(install.code, 0, install.stderr)
    assert.doesNotMatch(install.stderr, /tsvm@/, 'npm warns about no script of tsvm')

    const tsvm = join(prefix, 'bin', 'tsvm')
    const cli = (args: string[], input?: string) =>
      run(tsvm, args, {
        cwd: home,
        env: {...env, NO_COLOR: '1', TSVM_DATA_DIR: join(home, 'chain')},
        ...(input === undefined ? {} : {input}),
      })
    const version = await cli(['--version'])
    assert.equal(version.code, 0, version.stderr)
    assert.match(version.stdout, new RegExp(`^tsvm/${pkg.version.replaceAll('.', String.raw`\.`)} `))
    const vmID = await cli(['vm-id', 'timestampvm'])
    assert.deepEqual(
      [vmID.code, vmID.stdout, vmID.stderr],
      [0, 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc\n', ''],
    )

    // A chain command (LevelDB's native addon, found from the installed classic-level), with
    // enough files for stamp to start its helper thread from the bundle.
    await mkdir(join(home, 'files'))
    await Promise.all(
      Array.from({length: PARALLEL_MIN_ITEMS}, (_, i) => writeFile(join(home, 'files', `${i}.txt`), `${i}\n`)),
    )
    const stamp = await cli(['stamp', 'files', '--json'])
    assert.equal(stamp.code, 0, stamp.stderr)
    assert.ok((await readdir(join(home, 'files'))).includes(`${PARALLEL_MIN_ITEMS - 1}.txt.tsvm`))
    const check = await cli(['check'])
    assert.equal(check.code, 0, check.stderr)
    assert.match(check.stdout, /2 blocks/)
  })
})

describe('scripts/pack.mjs', () => {
  it('prepack takes `prepare` out of package.json, and postpack puts it back as it was', async (t) => {
    const work = await tempDir('tsvm-prepack-')
    t.after(work.cleanup)
    const original = await readFile(join(ROOT, 'package.json'), 'utf8')
    await copyFile(join(ROOT, 'package.json'), join(work.dir, 'package.json'))
    await copyFile(join(ROOT, 'README.md'), join(work.dir, 'README.md'))
    const script = join(ROOT, 'scripts', 'pack.mjs')

    const prepack = await run(process.execPath, [script, 'prepack'], {cwd: work.dir})
    assert.equal(prepack.code, 0, prepack.stderr)
    const stripped = JSON.parse(await readFile(join(work.dir, 'package.json'), 'utf8')) as typeof pkg
    assert.equal(stripped.scripts.prepare, undefined)
    const {prepare, ...others} = pkg.scripts
    assert.equal(prepare, 'npm run build')
    assert.deepEqual(stripped, {...pkg, scripts: others})
    // Twice is harmless (a pack that died before postpack).
    assert.equal((await run(process.execPath, [script, 'prepack'], {cwd: work.dir})).code, 0)

    const postpack = await run(process.execPath, [script, 'postpack'], {cwd: work.dir})
    assert.equal(postpack.code, 0, postpack.stderr)
    assert.equal(await readFile(join(work.dir, 'package.json'), 'utf8'), original)
  })

  it('prepack refuses to pack a receipt that npm would always include (README.md.tsvm)', async (t) => {
    const work = await tempDir('tsvm-prepack-')
    t.after(work.cleanup)
    await copyFile(join(ROOT, 'package.json'), join(work.dir, 'package.json'))
    await writeFile(join(work.dir, 'README.md.tsvm'), '{}')
    const r = await run(process.execPath, [join(ROOT, 'scripts', 'pack.mjs'), 'prepack'], {cwd: work.dir})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /README\.md\.tsvm/)
    assert.equal(
      await readFile(join(work.dir, 'package.json'), 'utf8'),
      await readFile(join(ROOT, 'package.json'), 'utf8'),
    )
  })
})
