// Bundles the compiled CLI so start-up reads a handful of files instead of ~470 modules.
// Every command is its own entry point and they share chunks, so `tsvm vm-id` never loads the
// database or HTTP code, and @oclif/core exists once (commands and the entry point must share
// one copy: oclif checks `instanceof Command`). LevelDB's JavaScript is bundled too (its ~30
// modules cost a chain command ~20 ms to resolve and load); only its native addon is loaded from
// classic-level's folder. Optional packages stay external.
import {readdirSync, readFileSync} from 'node:fs'

import * as esbuild from 'esbuild'

// oclif requires these at load time but only uses them off the path of a normal command: semver
// for an engine check, ejs to render help templates, tinyglobby/minimatch/lilconfig to find
// commands and plugins when there is no manifest, cli-spinners for spinners we never start, and
// the text-layout packages for help and oclif's own error screens.
// Bundled, they were ~40% of the code every command parsed and ran at start-up. Each becomes a
// stub that requires the real package (resolved from @oclif/core, as oclif would) on first use.
const LAZY = [
  'semver',
  'ejs',
  'tinyglobby',
  'minimatch',
  'cli-spinners',
  'lilconfig',
  'clean-stack',
  'indent-string',
  'wrap-ansi',
  'string-width',
  'widest-line',
]
// classic-level finds its addon next to its own files (`node-gyp-build(__dirname)`), which a
// bundle has moved away from: look the folder up through `level`, a direct dependency.
const levelAddon = {
  name: 'level-addon',
  setup(build) {
    build.onLoad({filter: /[\\/]classic-level[\\/]binding\.js$/}, () => ({
      loader: 'js',
      contents: `const {createRequire} = require('node:module')
const {dirname} = require('node:path')
const pkg = createRequire(require.resolve('level')).resolve('classic-level/package.json')
module.exports = createRequire(pkg)('node-gyp-build')(dirname(pkg))
`,
    }))
  },
}

const lazyOclifDeps = {
  name: 'lazy-oclif-deps',
  setup(build) {
    const filter = new RegExp(`^(${LAZY.join('|')})$`)
    build.onResolve({filter}, (args) =>
      args.namespace === 'lazy' ? {path: args.path, external: true} : {path: args.path, namespace: 'lazy'},
    )
    build.onLoad({filter: /.*/, namespace: 'lazy'}, async (args) => {
      // The stub must answer __esModule without loading (esbuild's and tsc's interop helpers ask at once).
      const esModule = Boolean((await import(args.path)).default?.__esModule)
      return {
        loader: 'js',
        contents: `let real
const load = () => (real ??= require('node:module').createRequire(require.resolve('@oclif/core'))(${JSON.stringify(args.path)}))
module.exports = new Proxy(function () {}, {
  get: (_, key) => (key === '__esModule' ? ${esModule} : load()[key]),
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const d = Reflect.getOwnPropertyDescriptor(load(), key)
    return d && {...d, configurable: true}
  },
  apply: (_, self, args) => Reflect.apply(load(), self, args),
  construct: (_, args) => Reflect.construct(load(), args),
})
`,
      }
    })
  },
}

// Topics are folders (`tsvm plugin install` is commands/plugin/install.js).
const commands = readdirSync('dist/src/commands', {recursive: true}).filter((f) => f.endsWith('.js'))

await esbuild.build({
  entryPoints: {
    main: 'dist/src/main.js',
    // Helper threads of big stamp runs; threads.js starts it as ./stamp-worker.js next to itself,
    // which holds as long as threads.js lands in a shared chunk at the top of the bundle (checked below).
    'stamp-worker': 'dist/src/proof/stamp-worker.js',
    // The AvalancheGo plugin process (src/plugin/main.ts): started by a launcher, never by oclif.
    plugin: 'dist/src/plugin/main.js',
    // oclif imports a hook only when its event fires (an unknown command)
    'hooks/not-found': 'dist/src/hooks/not-found.js',
    // and the help class only for --help, -h and tsvm help
    help: 'dist/src/help.js',
    ...Object.fromEntries(commands.map((f) => [`commands/${f.slice(0, -3)}`, `dist/src/commands/${f}`])),
  },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist/bundle',
  // Optional loaders oclif probes for TypeScript sources, which a built CLI never uses.
  external: ['typescript', 'ts-node', 'tsx'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [lazyOclifDeps, levelAddon],
  // oclif is CommonJS inside; give the ESM bundle a real `require` for its dynamic requires.
  banner: {
    js: "import {createRequire as __tsvmRequire} from 'node:module'; const require = __tsvmRequire(import.meta.url);",
  },
})

// threads.js names the worker relative to its own file: it must sit next to stamp-worker.js.
const starters = readdirSync('dist/bundle', {recursive: true}).filter(
  (f) => f.endsWith('.js') && readFileSync(`dist/bundle/${f}`, 'utf8').includes('"./stamp-worker.js"'),
)
if (starters.length === 0 || starters.some((f) => f.includes('/'))) {
  throw new Error(
    `the stamp worker is started from ${starters.join(', ') || 'nowhere'}: it must be a chunk at the top of dist/bundle`,
  )
}
