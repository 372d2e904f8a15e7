// tsvm completion bash|zsh through the real binary: the scripts hold every command, its flags and
// the values of flags with fixed options; the bash one is run in a real bash to complete words.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {tsvm} from '../helpers/cli.js'

const has = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0

/** What bash completes for the words typed so far (the last one is being completed). */
function completeInBash(script: string, words: string[]): string[] {
  const line = words.map((w) => `'${w}'`).join(' ')
  const r = spawnSync(
    'bash',
    [
      '-c',
      `source "$1"; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _tsvm_completion; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'complete',
      script,
    ],
    {encoding: 'utf8'},
  )
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.split('\n').filter(Boolean)
}

describe('tsvm completion', () => {
  it('bash: the script has every command, flag and option value, and completes them in bash', async (t) => {
    const r = await tsvm(['completion', 'bash'])
    assert.equal(r.code, 0, r.stderr)
    for (const word of [
      'stamp',
      'get-block',
      'vm-id',
      'install',
      'probe',
      '--data-dir',
      '--out',
      '--no-wait',
      '--api',
    ]) {
      assert.ok(r.stdout.includes(word), word)
    }

    assert.ok(r.stdout.includes('values="hex hexnc hexc cb58"'))
    assert.ok(r.stdout.includes('values="v1.2 v1.3"'))
    // hidden flags (old names) are not offered
    assert.doesNotMatch(r.stdout, /--genesis-hex|--no-accept|--out-dir/)
    if (!has('bash')) return t.skip('no bash here')
    const dir = await mkdtemp(join(tmpdir(), 'tsvm-completion-'))
    try {
      const script = join(dir, 'tsvm.bash')
      await writeFile(script, r.stdout)
      assert.deepEqual(completeInBash(script, ['tsvm', 'sta']), ['stamp'])
      assert.deepEqual(completeInBash(script, ['tsvm', 'g']).sort(), ['genesis', 'get-block'])
      assert.deepEqual(completeInBash(script, ['tsvm', 'plugin', 'in']), ['install'])
      assert.deepEqual(completeInBash(script, ['tsvm', 'help', 'vm']), ['vm-id'])
      assert.deepEqual(completeInBash(script, ['tsvm', 'decode', 'x', '--encoding', 'hexn']), ['hexnc'])
      assert.deepEqual(completeInBash(script, ['tsvm', 'get-block', '--api', '']), ['v1.2', 'v1.3'])
      assert.deepEqual(completeInBash(script, ['tsvm', 'serve', '--api=v1.']).sort(), ['--api=v1.2', '--api=v1.3'])
      assert.deepEqual(completeInBash(script, ['tsvm', 'stamp', 'f', '--no-w']), ['--no-wait'])
      assert.deepEqual(completeInBash(script, ['tsvm', 'plugin', 'install', '--ou']), ['--out'])
      assert.ok(completeInBash(script, ['tsvm', 'blocks', '-']).includes('--data-dir'))
      // an argument or a flag's value is a file name
      await writeFile(join(dir, 'report.pdf'), '')
      assert.deepEqual(completeInBash(script, ['tsvm', 'stamp', join(dir, 'rep')]), [join(dir, 'report.pdf')])
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('zsh: the script describes every command and gives each flag its values', async (t) => {
    const r = await tsvm(['completion', 'zsh'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^#compdef tsvm\n/)
    assert.match(r.stdout, /'stamp:Prove files existed - put their hash \(or a Merkle root of many\) in on/)
    assert.match(r.stdout, /'plugin:Run tsvms VM inside AvalancheGo - install the plugin launcher/)
    assert.match(r.stdout, /'install:Install tsvm as an AvalancheGo VM plugin/)
    assert.match(r.stdout, /'--encoding=\[[^\]]*\]:encoding:\(hex hexnc hexc cb58\)'/)
    assert.match(r.stdout, /'\(-d --data-dir\)--data-dir=\[[^\]]*\]:data-dir:_files -\/'/)
    assert.match(r.stdout, /'--no-wait\[/)
    assert.match(r.stdout, /'\*--glob=\[/)
    assert.match(r.stdout, /'\(-o --out\)--out=\[write receipts under this directory[^\]]*\]:out:_files -\/'/)
    assert.doesNotMatch(r.stdout, /--genesis-hex|--no-accept|--out-dir/)
    if (!has('zsh')) return t.skip('no zsh here to check the syntax')
    const dir = await mkdtemp(join(tmpdir(), 'tsvm-completion-'))
    try {
      await writeFile(join(dir, '_tsvm'), r.stdout)
      const check = spawnSync('zsh', ['-n', join(dir, '_tsvm')], {encoding: 'utf8'})
      assert.equal(check.status, 0, check.stderr)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('an unknown shell is a usage error naming the choices', async () => {
    const r = await tsvm(['completion', 'fish'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bash, zsh|bash\|zsh|bash and zsh/)
  })
})
