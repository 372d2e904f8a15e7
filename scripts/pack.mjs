// The prepack and postpack steps of `npm pack` and `npm publish` (see package.json).
//
// Why: a git checkout has no dist/, so `prepare` builds it (npm runs `prepare` on `npm ci` or
// `npm install` in a clone, on `npm install -g` of a clone, and on an install from a git URL).
// A packed tarball already holds the built dist/bundle and never needs a build, but npm 11 lists
// the `prepare` of a tarball it installs under "npm warn install-scripts" (and strict
// allow-scripts settings refuse it) although it does not run it there. So the tarball's
// package.json has no `prepare`: `prepack` builds (npm pack would otherwise ship whatever dist/
// holds), checks what would ship, and takes `prepare` out; `postpack` puts it back. If a pack
// dies in between, package.json lacks `prepare` until the next pack or
// `node scripts/pack.mjs postpack` puts it back (nothing else in the file is touched).
//
//   node scripts/pack.mjs prepack    after `npm run build`
//   node scripts/pack.mjs postpack
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'

const PREPARE = 'npm run build'
const FILE = 'package.json'

const read = () => JSON.parse(readFileSync(FILE, 'utf8'))
// npm writes package.json this way too: two-space indent and a final newline.
const write = (pkg) => writeFileSync(FILE, JSON.stringify(pkg, null, 2) + '\n')

const mode = process.argv[2]
if (mode === 'prepack') {
  // npm always packs README*, LICENSE*, LICENCE* and COPYING* of the top folder, whatever `files`
  // says: a receipt such as README.md.tsvm (from `tsvm stamp README.md`) would ship, with the
  // packer's data-dir path in it.
  const extra = readdirSync('.').filter(
    (f) => /^(readme|license|licence|copying)(\..*[^~$])?$/i.test(f) && !['README.md', 'LICENSE'].includes(f),
  )
  if (extra.length > 0) {
    console.error(
      `npm would pack ${extra.join(', ')} (it always packs README* and LICENSE*): move ${extra.length > 1 ? 'them' : 'it'} out of the way and pack again`,
    )
    process.exit(1)
  }

  const pkg = read()
  if (pkg.scripts.prepare !== undefined) {
    if (pkg.scripts.prepare !== PREPARE) {
      console.error(
        `scripts.prepare is "${pkg.scripts.prepare}", scripts/pack.mjs puts back "${PREPARE}": update PREPARE there`,
      )
      process.exit(1)
    }

    delete pkg.scripts.prepare
    write(pkg)
  }
} else if (mode === 'postpack') {
  const pkg = read()
  if (pkg.scripts.prepare === undefined) {
    // Back in its place, right after `build`.
    const scripts = {}
    for (const [name, command] of Object.entries(pkg.scripts)) {
      scripts[name] = command
      if (name === 'build') scripts.prepare = PREPARE
    }

    scripts.prepare ??= PREPARE
    pkg.scripts = scripts
    write(pkg)
  }
} else {
  console.error('usage: node scripts/pack.mjs prepack|postpack')
  process.exit(2)
}
