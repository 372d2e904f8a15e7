import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {compileGlob, compileGlobs} from '../../src/proof/glob.js'
import {TsvmError} from '../../src/vm/errors.js'

describe('glob', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*.txt', 'a.txt', true],
    ['*.txt', 'deep/dir/a.txt', true], // no '/': matched against the base name
    ['*.txt', 'a.txt.bak', false],
    ['?.md', 'a.md', true],
    ['?.md', 'ab.md', false],
    ['docs/*.md', 'docs/a.md', true],
    ['docs/*.md', 'docs/x/a.md', false],
    ['docs/**', 'docs/x/y/a.md', true],
    ['docs/**', 'docsx/a.md', false],
    ['**/*.md', 'a.md', true],
    ['**/*.md', 'x/y/a.md', true],
    ['a/**/b.md', 'a/b.md', true],
    ['a/**/b.md', 'a/x/y/b.md', true],
    ['a/**/b.md', 'ab.md', false],
    ['a/*/b', 'a/x/y/b', false],
    ['x.(1)+[2]', 'x.(1)+[2]', true],
    ['x.txt', 'xytxt', false],
  ]
  for (const [pattern, path, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${path}`, () =>
      assert.equal(compileGlob(pattern)(path), expected))
  }

  it('several globs match when any does; none matches everything', () => {
    const m = compileGlobs(['*.md', '*.txt'])
    assert.equal(m('a.md'), true)
    assert.equal(m('a.txt'), true)
    assert.equal(m('a.pdf'), false)
    assert.equal(compileGlobs([])('anything'), true)
  })

  it('refuses an empty pattern', () => {
    assert.throws(
      () => compileGlob(''),
      (e: unknown) => e instanceof TsvmError && e.code === 'INVALID_ARGUMENT',
    )
  })
})
