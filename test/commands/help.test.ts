import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {ROOT, tsvm, tsvmJson} from '../helpers/cli.js'

describe('help, unknown commands and flags', () => {
  it('tsvm help, tsvm help <command>, tsvm -h and tsvm <command> -h print help and exit 0', async () => {
    const [help, helpStamp, h, stampH] = await Promise.all([
      tsvm(['help']),
      tsvm(['help', 'stamp']),
      tsvm(['-h']),
      tsvm(['stamp', '-h']),
    ])
    for (const r of [help, h]) {
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^COMMANDS$/m)
      assert.match(r.stdout, /^ {2}stamp {2,}/m)
    }

    for (const r of [helpStamp, stampH]) {
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^USAGE\n {2}\$ tsvm stamp /m)
      assert.match(r.stdout, /-o, --out=<dir>/)
    }

    assert.equal(helpStamp.stdout, stampH.stdout)
  })

  it('an unknown command names the nearest one, without the arguments or a ":"', async () => {
    const [stmp, getblock, vmid, none] = await Promise.all([
      tsvm(['stmp', 'README.md']),
      tsvm(['get_block', 'x', 'y']),
      tsvm(['vmid', 'timestampvm']),
      tsvm(['xyzzy']),
    ])
    assert.equal(stmp.code, 2)
    assert.match(stmp.stderr, /"stmp" is not a tsvm command: did you mean stamp\?/)
    assert.doesNotMatch(stmp.stderr, /README|:README|stmp:/)
    assert.match(getblock.stderr, /did you mean get-block\?/)
    assert.doesNotMatch(getblock.stderr, /get_block:x/)
    assert.match(vmid.stderr, /did you mean vm-id\?/)
    assert.equal(none.code, 2)
    assert.doesNotMatch(none.stderr, /did you mean/)
    assert.match(none.stderr, /\[USAGE\]/)
  })

  it('an unknown command under --json is an error object with code USAGE and exit 2', async () => {
    const r = await tsvmJson(['stamps', 'x'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'USAGE')
    assert.equal(r.json.error.exitCode, 2)
    assert.match(r.json.error.message, /did you mean stamp\?/)
  })

  it('a mistyped flag names the nearest flag of that command, on one line, under --json too', async () => {
    const [text, json] = await Promise.all([
      tsvm(['stamp', 'f', '--out-dri', 'x']),
      tsvmJson(['blocks', '--limt', '3']),
    ])
    assert.equal(text.code, 2)
    assert.equal(text.stderr, 'Error: unknown flag --out-dri (did you mean --out?): see tsvm stamp --help [USAGE]\n')
    assert.equal(json.code, 2)
    assert.equal(json.json.error.code, 'USAGE')
    assert.equal(json.json.error.message, 'unknown flag --limt (did you mean --limit?): see tsvm blocks --help')
  })

  it("parse errors read as one line, without oclif's layout", async () => {
    const [integer, missing, exclusive] = await Promise.all([
      tsvm(['blocks', '--limit', 'abc']),
      tsvm(['vm-id']),
      tsvm(['vm-id', '--hash', '--reverse', 'x']),
    ])
    assert.equal(
      integer.stderr,
      'Error: --limit: expected an integer but received: abc: see tsvm blocks --help [USAGE]\n',
    )
    assert.match(missing.stderr, /^Error: missing argument VALUE, a VM name .*: see tsvm vm-id --help \[USAGE\]\n$/)
    for (const r of [integer, missing, exclusive]) {
      assert.equal(r.code, 2)
      assert.doesNotMatch(r.stderr, /See more help|\t|The following error/)
      assert.equal(r.stderr.split('\n').length, 2, r.stderr)
    }
  })

  it('tsvm help of an unknown command or subcommand is the same USAGE error, JSON under --json', async () => {
    const [stmp, json, sub, runSub] = await Promise.all([
      tsvm(['help', 'stmp']),
      tsvmJson(['help', 'stmp', '--json']),
      tsvm(['help', 'plugin', 'instal']),
      tsvm(['plugin', 'instal', '--force']),
    ])
    assert.equal(stmp.code, 2)
    assert.equal(
      stmp.stderr,
      'Error: "stmp" is not a tsvm command: did you mean stamp? run tsvm help for the list [USAGE]\n',
    )
    assert.deepEqual([json.code, json.json.error.code, json.json.error.exitCode], [2, 'USAGE', 2])
    assert.match(json.json.error.message, /did you mean stamp\?/)
    for (const r of [sub, runSub]) {
      assert.equal(r.code, 2)
      assert.match(r.stderr, /^Error: "plugin instal" is not a tsvm command: did you mean plugin install\? /)
      assert.doesNotMatch(r.stderr, /:instal|--force/)
    }
  })

  it('help of a topic lists its commands; tsvm help plugin install equals tsvm plugin install -h', async () => {
    const [topic, help, h] = await Promise.all([
      tsvm(['help', 'plugin']),
      tsvm(['help', 'plugin', 'install']),
      tsvm(['plugin', 'install', '-h']),
    ])
    assert.equal(topic.code, 0)
    assert.match(topic.stdout, /plugin install/)
    assert.equal(help.code, 0)
    assert.equal(help.stdout, h.stdout)
  })
})

const commandIds = async (): Promise<string[]> => {
  const manifest = JSON.parse(await readFile(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
    commands: Record<string, {hidden?: boolean}>
  }
  return Object.entries(manifest.commands)
    .filter(([, c]) => !c.hidden)
    .map(([id]) => id)
}

/** The lines of one section of a help text (DESCRIPTION, EXAMPLES, ...), without the heading. */
function section(help: string, name: string): string[] {
  const lines = help.split('\n')
  const start = lines.indexOf(name)
  if (start === -1) return []
  const end = lines.findIndex((l, i) => i > start && /^[A-Z][A-Z ]+$/.test(l))
  return lines.slice(start + 1, end === -1 ? undefined : end)
}

describe('help text at 80 columns', () => {
  it('every command: no line over 80, paragraphs wrapped by oclif (not ragged), data dir resolved', async () => {
    const home = '/home/someone'
    const ids = await commandIds()
    const helps = await Promise.all(
      ids.map((id) =>
        tsvm([...id.split(':'), '--help'], {env: {OCLIF_COLUMNS: '80', HOME: home, XDG_DATA_HOME: undefined}}),
      ),
    )
    for (const [i, help] of helps.entries()) {
      const id = ids[i]!
      assert.equal(help.code, 0, `${id}: ${help.stderr}`)
      for (const line of help.stdout.split('\n')) assert.ok(line.length <= 80, `${id}: ${line.length} columns: ${line}`)
      assert.doesNotMatch(help.stdout, /<tsvm data dir>/, id)
      // oclif wraps a paragraph at the last word that fits: a line that had room for the next
      // word is a break from the source (hard-wrapped prose)
      const paragraphs = section(help.stdout, 'DESCRIPTION')
        .join('\n')
        .split(/\n\s*\n/)
        .filter((p) => !/^ {4}/m.test(p)) // lists, tables and output keep their own lines
        .map((p) => p.split('\n').filter((l) => l.trim() !== ''))
      for (const lines of paragraphs) {
        for (const [j, line] of lines.slice(0, -1).entries()) {
          const next = lines[j + 1]!.trim().split(' ')[0]!
          assert.ok(line.length + 1 + next.length > 80, `${id}: ragged line: ${JSON.stringify(line)}`)
        }
      }
    }

    const blocks = helps[ids.indexOf('blocks')]!.stdout
    assert.match(blocks, /default:\s+\/home\/someone\/\.local\/share\/tsvm\/chain\]/)
  })

  it('an example shows its command, then its output', async () => {
    const r = await tsvm(['propose', '--help'], {env: {OCLIF_COLUMNS: '80'}})
    const examples = section(r.stdout, 'EXAMPLES').join('\n')
    const command = examples.indexOf('$ tsvm propose')
    const output = examples.indexOf('1  uRZjcoa8D6CaCNJHdwLWiLYxK72nVy35bLe3rcXAWg4Wcvfpv')
    assert.ok(command !== -1 && output > command, examples)
    assert.ok(examples.indexOf('queued 1 payload') > examples.indexOf('--no-wait'), examples)
  })

  it('commands that work on a data dir only do not offer --endpoint or --api, and still explain them', async () => {
    const local = ['build', 'accept', 'reject', 'mempool', 'check', 'init']
    const helps = await Promise.all(local.map((id) => tsvm([id, '--help'])))
    for (const [i, help] of helps.entries()) {
      assert.match(help.stdout, /--data-dir/, local[i])
      assert.doesNotMatch(help.stdout, /--endpoint|--api/, local[i])
    }

    const remote = await tsvmJson(['mempool', '--endpoint', 'http://127.0.0.1:9/ext/bc/x'])
    assert.deepEqual([remote.code, remote.json.error.code], [2, 'REMOTE_UNSUPPORTED'])
    const blocks = await tsvm(['blocks', '--help'])
    assert.match(blocks.stdout, /-e, --endpoint/)
  })
})
