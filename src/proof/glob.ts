// A small glob matcher for relative paths ('/'-separated):
//
//   *    any run of characters within one path segment (no '/')
//   ?    exactly one character other than '/'
//   **   as a whole segment: zero or more segments ("**/x", "a/**/x", "a/**")
//
// A pattern without '/' is matched against the file's base name ("*.pdf" finds PDFs at any
// depth); a pattern with '/' is matched against the whole relative path. Every other character,
// '[' and '{' included, matches itself.
import {TsvmError} from '../vm/errors.js'

function escape(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? '\\' + c : c
}

/** Compiles a glob into a predicate over '/'-separated relative paths. */
export function compileGlob(pattern: string): (relPath: string) => boolean {
  if (pattern.length === 0)
    throw new TsvmError(
      'INVALID_ARGUMENT',
      'an empty --glob matches nothing: pass a pattern such as "*.pdf" or "docs/**"',
    )
  const segments = pattern.split('/')
  let re = ''
  for (let s = 0; s < segments.length; s++) {
    const seg = segments[s]!
    const last = s === segments.length - 1
    if (seg === '**') {
      // zero or more whole segments, with the separator that follows (or precedes, at the end)
      if (last) re += s === 0 ? '.*' : '(?:/.*)?'
      else re += s === 0 ? '(?:[^/]*/)*' : '/(?:[^/]*/)*'
      continue
    }

    if (s > 0 && segments[s - 1] !== '**') re += '/'
    for (let i = 0; i < seg.length; i++) {
      const c = seg[i]!
      if (c === '*') {
        while (seg[i + 1] === '*') i++
        re += '[^/]*'
      } else if (c === '?') re += '[^/]'
      else re += escape(c)
    }
  }

  const rx = new RegExp(`^${re}$`, 's')
  const baseOnly = !pattern.includes('/')
  return (relPath) => rx.test(baseOnly ? relPath.slice(relPath.lastIndexOf('/') + 1) : relPath)
}

/** One predicate for several globs: a path matches when any of them matches (all, with none). */
export function compileGlobs(patterns: readonly string[]): (relPath: string) => boolean {
  const fns = patterns.map((p) => compileGlob(p))
  return (p) => fns.length === 0 || fns.some((f) => f(p))
}
