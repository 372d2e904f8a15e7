// ESLint: oclif's shared config (the one oclif's own repositories use), then Prettier's switch-off
// of the rules that only concern layout. The rules turned off below conflict with what the code
// must do, not with taste; each says why.
import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier'

export default [
  {ignores: ['dist/', 'node_modules/', 'oclif.manifest.json', 'bench/report.html']},
  ...oclif,
  prettier,
  {
    rules: {
      // Key order is wire order: the JSON replies match Go's field order byte for byte, and the
      // --json results keep their documented order. Sorting keys, members or imports would churn
      // that for no gain.
      'perfectionist/sort-array-includes': 'off',
      'perfectionist/sort-classes': 'off',
      'perfectionist/sort-enums': 'off',
      'perfectionist/sort-exports': 'off',
      'perfectionist/sort-imports': 'off',
      'perfectionist/sort-interfaces': 'off',
      'perfectionist/sort-maps': 'off',
      'perfectionist/sort-named-exports': 'off',
      'perfectionist/sort-named-imports': 'off',
      'perfectionist/sort-object-types': 'off',
      'perfectionist/sort-objects': 'off',
      'perfectionist/sort-sets': 'off',
      'perfectionist/sort-switch-case': 'off',
      'perfectionist/sort-union-types': 'off',
      'perfectionist/sort-variable-declarations': 'off',
      // Byte codecs (the Go codec, CB58, protobuf varints, Merkle leaves) are bit operations.
      'no-bitwise': 'off',
      // Writes that must land in order, and wire protocols that are request-then-reply, are
      // sequential on purpose.
      'no-await-in-loop': 'off',
      // Hex constants follow the bytes or code units they stand for (0xdc00, 0x7fffffff); digit
      // groups are kept for decimal numbers only.
      'unicorn/numeric-separators-style': ['error', {hexadecimal: {onlyIfContainsSeparator: true}}],
      // The bundle check finds the stamp worker by its './stamp-worker.js' URL in the output.
      'unicorn/relative-url-style': 'off',
      // Heights and timestamps are bigints, which Math.min and Math.max reject.
      'unicorn/prefer-math-min-max': 'off',
      // Index loops stay where the index is used beside the element in hot paths (block listings,
      // batches): entries() would allocate a pair per step.
      'unicorn/no-for-loop': 'off',
      // Byte copies use Uint8Array#slice(); spreading would turn them into number[].
      'unicorn/prefer-spread': 'off',
      // The codecs work on bytes held in strings (binary digests, Latin-1) and on UTF-16 code units
      // (Go's JSON escapes a lone surrogate unit by unit): charCodeAt/fromCharCode are the contract.
      'unicorn/prefer-code-point': 'off',
      // Control characters are what the receipt-name sanitizer removes and what the colour tests look for.
      'no-control-regex': 'off',
      // `void promise` marks a promise deliberately left to run (its errors are handled inside).
      'no-void': ['error', {allowAsStatement: true}],
      // Leaving keys out of an object with a rest destructuring names them without using them.
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', ignoreRestSiblings: true}],
      // Supported on the engines floor (Node 20.19, what CI runs): the rule flags them for the
      // end-of-life odd line 21, or as experimental on 20 where they work unflagged.
      'n/no-unsupported-features/node-builtins': [
        'error',
        {ignores: ['test.describe', 'crypto.hash', 'fetch', 'fs/promises.cp', 'fs.cpSync']},
      ],
    },
  },
  {
    // No getter or setter in an object literal: V8 builds such an object as a dictionary-mode one
    // with an accessor pair of its own, kept in the old generation, and once the object is dropped
    // that pair still keeps what the accessor closes over alive through every young collection.
    // Built per request, it made the server promote every block (see OpenGroup in src/vm/vm.ts).
    // Accessors go on a class.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ObjectExpression > Property[kind='get'], ObjectExpression > Property[kind='set']",
          message:
            'Put accessors on a class: an object literal with one keeps what it closes over past young collections.',
        },
      ],
    },
  },
  {
    // Exiting at once is the contract here: the plugin process when its node goes away, Ctrl-C
    // (exit 130) and a second signal while draining, a build script's error, a bench server's SIGTERM.
    files: [
      'src/plugin/main.ts',
      'src/base-command.ts',
      'src/commands/serve.ts',
      'scripts/*.mjs',
      'bench/http-baseline.ts',
    ],
    rules: {'n/no-process-exit': 'off', 'unicorn/no-process-exit': 'off'},
  },
  {
    // The entry points load the build output, which exists after `npm run build` (npm ci runs it).
    files: ['bin/*.js'],
    rules: {'import/no-unresolved': ['error', {ignore: [String.raw`^\.\./dist/`]}]},
  },
  {
    // classic-level's native binding names its functions in snake_case; the recorder wraps them.
    files: ['bench/record.ts'],
    rules: {camelcase: 'off'},
  },
  {
    // H, L and N are RFC 6962's Merkle tree notation (hash, leaf, node), which the tests follow.
    files: ['test/proof/merkle.test.ts'],
    rules: {'new-cap': ['error', {capIsNewExceptions: ['H', 'L', 'L2', 'N']}]},
  },
  {
    // Tests read and corrupt parsed JSON and protobuf messages of any shape on purpose.
    files: ['test/**/*.ts'],
    rules: {'@typescript-eslint/no-explicit-any': 'off'},
  },
  {
    // The tests run on node:test, not mocha: its describe/it/before carry no mocha semantics.
    files: ['test/**/*.ts'],
    rules: Object.fromEntries(
      Object.keys(oclif.find((c) => c.plugins?.mocha)?.plugins.mocha.rules ?? {}).map((r) => [`mocha/${r}`, 'off']),
    ),
  },
]
