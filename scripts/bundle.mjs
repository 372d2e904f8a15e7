// Bundles the compiled CLI so start-up reads a handful of files instead of ~470 modules.
// Every command is its own entry point and they share chunks, so `tsvm vm-id` never loads the
// database or HTTP code, and @oclif/core exists once (commands and the entry point must share
// one copy: oclif checks `instanceof Command`). Native and optional packages stay external.
import {readdirSync} from 'node:fs'

import * as esbuild from 'esbuild'

const commands = readdirSync('dist/src/commands').filter((f) => f.endsWith('.js'))

await esbuild.build({
  entryPoints: {
    main: 'dist/src/main.js',
    ...Object.fromEntries(commands.map((f) => [`commands/${f.slice(0, -3)}`, `dist/src/commands/${f}`])),
  },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist/bundle',
  // classic-level loads a native addon relative to its own folder; the others are optional
  // loaders oclif probes for TypeScript sources, which a built CLI never uses.
  external: ['classic-level', 'level', 'typescript', 'ts-node', 'tsx'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // oclif is CommonJS inside; give the ESM bundle a real `require` for its dynamic requires.
  banner: {js: "import {createRequire as __tsvmRequire} from 'node:module'; const require = __tsvmRequire(import.meta.url);"},
})
