// The README's commands, run in order through the real binary on a fresh data dir, so the README
// cannot drift from what tsvm does.
//
// Which fenced blocks run:
// - a ```sh block runs as one bash script under `set -euo pipefail`: every command in it must
//   exit 0, and the first that does not fails the test, named with its README line;
// - ```text blocks (and any other language) are output shown to the reader, never run;
// - an HTML comment on the line right before a ```sh block changes that:
//     <!-- readme-test: skip REASON -->  not run; the reason is required (a command that needs a
//                                        node, installs globally, or runs until Ctrl-C)
//     <!-- readme-test: exit N -->       the block is one command, and it must exit with N
//     <!-- readme-test: instead CMD -->  CMD runs in the block's place and must be written in it:
//                                        the quick start runs its stamp, not `npm ci` or `npm test`
// - a ```text block right after a block that runs (nothing but blank lines between) is its output:
//   each of its lines must appear in what the block printed.
//
// The blocks run in a scratch folder laid out like a clone (bin/run.js is a link to the real one,
// README.md a copy), with HOME and the XDG dirs inside a scratch dir too, so nothing reads or
// writes the user's files. Exported variables and `cd` carry from one block to the next, as when
// the blocks are pasted into one shell.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {describe, it} from 'node:test'

import {BIN, ROOT, tempDir} from './helpers/cli.js'

type Mark = {exit: number; kind: 'exit'} | {command: string; kind: 'instead'} | {kind: 'skip'; reason: string}

interface Block {
  /** The README line of the opening fence. */
  line: number
  /** The README line of the closing fence. */
  end: number
  lang: string
  body: string
  mark: Mark | undefined
}

const MARKER = /^<!--\s*readme-test:\s*(\S+)\s*(.*?)\s*-->$/

function parseMark(text: string, line: number): Mark {
  const m = MARKER.exec(text)
  if (!m) throw new Error(`README.md:${line}: a readme-test marker must read <!-- readme-test: KIND ... -->`)
  const [, kind, rest = ''] = m
  if (kind === 'skip' && rest !== '') return {kind, reason: rest}
  if (kind === 'exit' && /^\d+$/.test(rest)) return {exit: Number(rest), kind}
  if (kind === 'instead' && rest !== '') return {command: rest, kind}
  throw new Error(`README.md:${line}: "${text}": use skip REASON, exit N or instead COMMAND`)
}

/** The fenced blocks of a markdown text, with the marker on the line before each, if any. */
export function readmeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l))
    if (end === -1) throw new Error(`README.md:${i + 1}: the fenced block is never closed`)
    const before = i > 0 ? lines[i - 1]!.trim() : ''
    const mark = before.includes('readme-test') ? parseMark(before, i) : undefined
    blocks.push({body: lines.slice(i + 1, end).join('\n'), end: end + 1, lang: open[1]!, line: i + 1, mark})
    i = end
  }

  for (const [i, l] of lines.entries()) {
    if (l.includes('readme-test:') && !blocks.some((b) => b.line === i + 2 && b.mark))
      throw new Error(`README.md:${i + 1}: a readme-test marker must be on the line right before a fenced block`)
  }

  return blocks
}

/** The commands of a block: its lines, without blank lines and comments. */
const commands = (body: string) => body.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))

interface Outcome {
  ran: number[]
  skipped: number[]
  /** The first block that failed, with why; nothing runs after it. */
  failure?: string
}

function bash(script: string, cwd: string, env: Record<string, string>) {
  return new Promise<{code: number; stdout: string; stderr: string}>((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code: code ?? (signal ? 128 : 1),
        stderr: Buffer.concat(err).toString(),
        stdout: Buffer.concat(out).toString(),
      })
    })
  })
}

/** The scratch clone, HOME and shell state the blocks run in; `cleanup` removes them all. */
async function scratch(markdown: string) {
  const {cleanup, dir} = await tempDir('tsvm-readme-')
  const home = join(dir, 'home')
  const clone = join(dir, 'clone')
  const state = join(dir, 'state')
  await Promise.all([mkdir(home), mkdir(join(clone, 'bin'), {recursive: true}), mkdir(state)])
  await symlink(BIN, join(clone, 'bin', 'run.js'))
  await writeFile(join(clone, 'README.md'), markdown)
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(TSVM_|XDG_|AVALANCHEGO_|npm_)/i.test(k) && k !== 'FORCE_COLOR') env[k] = v
  Object.assign(env, {
    HOME: home,
    NO_COLOR: '1',
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
  })
  // One shell's state across blocks: each block starts from the exports and folder the last left.
  const prologue = [
    `S=${JSON.stringify(state)}`,
    'if [ -f "$S/env" ]; then . "$S/env"; cd "$(cat "$S/cwd")"; fi',
    `trap 'export -p > "$S/env"; pwd > "$S/cwd"' EXIT`,
  ]
  return {cleanup, clone, env, prologue}
}

/** The script a sh block runs and the exit code it must give, or why its marker is misused. */
function planOf(block: Block): {body: string; expected: number} | {failure: string} {
  const where = `README.md:${block.line}`
  if (block.mark?.kind === 'instead') {
    if (!block.body.includes(block.mark.command))
      return {failure: `${where}: the instead command "${block.mark.command}" is not in the block`}
    return {body: block.mark.command, expected: 0}
  }

  if (block.mark?.kind !== 'exit') return {body: block.body, expected: 0}
  if (commands(block.body).length !== 1) return {failure: `${where}: a block marked exit N holds exactly one command`}
  return {body: block.body, expected: block.mark.exit}
}

/** The lines of the text block shown right after `block` that its output lacks (none if none is shown). */
function missingOutput(markdown: string, block: Block, shown: Block | undefined, output: string): string[] {
  if (shown?.lang !== 'text') return []
  const between = markdown.split('\n').slice(block.end, shown.line - 1)
  if (!between.every((l) => l.trim() === '')) return []
  return shown.body.split('\n').filter((l) => l.trim() !== '' && !output.includes(l.trim()))
}

/** Runs the sh blocks of `markdown` in order in a fresh scratch clone, as the header says. */
export async function runReadme(markdown: string): Promise<Outcome> {
  const blocks = readmeBlocks(markdown)
  const {cleanup, clone, env, prologue} = await scratch(markdown)
  const outcome: Outcome = {ran: [], skipped: []}
  try {
    for (const [index, block] of blocks.entries()) {
      if (block.lang !== 'sh') continue
      if (block.mark?.kind === 'skip') {
        outcome.skipped.push(block.line)
        continue
      }

      const plan = planOf(block)
      if ('failure' in plan) {
        outcome.failure = plan.failure
        break
      }

      const strict = plan.expected === 0 ? ['set -euo pipefail', `trap 'echo "exit $?: $BASH_COMMAND" >&2' ERR`] : []
      const r = await bash([...prologue, ...strict, plan.body].join('\n'), clone, env)
      outcome.ran.push(block.line)
      const printed = `--- stdout\n${r.stdout}--- stderr\n${r.stderr}`
      if (r.code !== plan.expected) {
        outcome.failure = `README.md:${block.line}: exited ${r.code}, expected ${plan.expected}\n${plan.body}\n${printed}`
        break
      }

      const missing = missingOutput(markdown, block, blocks[index + 1], r.stdout + r.stderr)
      if (missing.length > 0) {
        const shownAt = blocks[index + 1]!.line
        outcome.failure = `README.md:${shownAt}: the output shown is not what the block printed: ${missing.join(' / ')}\n${printed}`
        break
      }
    }
  } finally {
    await cleanup()
  }

  return outcome
}

/** A one-block README: the marker line, then a sh block. */
const block = (marker: string, body: string) => [marker, '```sh', body, '```'].join('\n')

describe('README.md', () => {
  it('runs: every sh block, in order, through ./bin/run.js on a fresh data dir', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const sh = readmeBlocks(readme).filter((b) => b.lang === 'sh')
    const outcome = await runReadme(readme)
    assert.equal(outcome.failure, undefined, outcome.failure)
    assert.equal(outcome.ran.length + outcome.skipped.length, sh.length)
    assert.ok(outcome.ran.length > outcome.skipped.length, 'most of the README runs')
    // The tour must be pasteable after the quick start, which creates the default chain: the
    // quick start's stamp runs first, in its place.
    assert.equal(sh[0]!.mark?.kind, 'instead')
    assert.equal(outcome.ran[0], sh[0]!.line)
  })

  it('fails on a command that breaks, naming its line, and stops there', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const broken = readme.replace('init --data-dir demo --genesis e2e', 'init --data-dir demo --genesis-typo e2e')
    assert.notEqual(broken, readme, 'the README still holds the command this test breaks')
    const line = broken.split('\n').findIndex((l) => l.includes('--genesis-typo'))
    const outcome = await runReadme(broken)
    assert.match(outcome.failure ?? '', /^README\.md:\d+: exited 2, expected 0/)
    assert.match(outcome.failure ?? '', /exit 2: \.\/bin\/run\.js init --data-dir demo --genesis-typo e2e/)
    const failed = Number(/^README\.md:(\d+)/.exec(outcome.failure ?? '')?.[1])
    assert.ok(failed < line + 1 && outcome.ran.at(-1) === failed, 'the run stops at the broken block')
  })

  it('fails when a block meant to fail succeeds, or fails otherwise', async () => {
    const ok = ['<!-- readme-test: exit 3 -->', '```sh', './bin/run.js vm-id timestampvm', '```'].join('\n')
    assert.match((await runReadme(ok)).failure ?? '', /^README\.md:2: exited 0, expected 3/)
    const wrong = ['<!-- readme-test: exit 3 -->', '```sh', './bin/run.js decode 0x00', '```'].join('\n')
    assert.match((await runReadme(wrong)).failure ?? '', /^README\.md:2: exited 4, expected 3/)
  })

  it('reads markers strictly: a reason to skip, one command to fail, instead written in the block', async () => {
    assert.throws(() => readmeBlocks(block('<!-- readme-test: skip -->', 'true')), /skip REASON/)
    assert.throws(() => readmeBlocks(block('<!-- readme-test: exit -->', 'true')), /exit N/)
    assert.throws(() => readmeBlocks(block('<!-- readme-test: run -->', 'true')), /skip REASON/)
    assert.throws(
      () => readmeBlocks(['<!-- readme-test: skip far -->', '', '```sh', 'true', '```'].join('\n')),
      /right before/,
    )
    const two = await runReadme(block('<!-- readme-test: exit 3 -->', 'true\nfalse'))
    assert.match(two.failure ?? '', /exactly one command/)
    const instead = await runReadme(block('<!-- readme-test: instead true -->', 'npm ci'))
    assert.match(instead.failure ?? '', /is not in the block/)
    const shown = [
      '```sh',
      './bin/run.js vm-id timestampvm',
      '```',
      '',
      '```text',
      'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPX',
      '```',
    ]
    assert.match(
      (await runReadme(shown.join('\n'))).failure ?? '',
      /^README\.md:5: the output shown is not what the block printed: tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPX/,
    )
    shown[5] = 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc'
    assert.equal((await runReadme(shown.join('\n'))).failure, undefined)
    const text = await runReadme(['```text', 'false', '```', '```sh', 'false', '```'].join('\n'))
    assert.deepEqual(text.ran, [4])
    assert.match(text.failure ?? '', /^README\.md:4: exited 1/)
  })
})
