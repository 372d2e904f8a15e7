// Flags shared by every command that talks to a chain: where the chain is. An explicit flag
// wins over either environment variable; both variables set at once is ambiguous (USAGE).
//
// Flag names: one idea has one name in every command, and a short char means one long name,
// the names a user of git, gh or cast would try first.
//   -d --data-dir   the embedded chain           -e --endpoint   a node's chain endpoint
//   -f --file       read the input from a file   -g --genesis    the genesis (init)
//   -r --receipt    a receipt file (verify)      -o --out        where output goes: a file, or
//   -x --hex        the input is hex                             the receipts' dir (stamp)
//   -n --limit      how many (blocks)            -l --length     a byte length (encode)
//   --wait / --no-wait   wait until the payload is accepted, or only queue it (kubectl, az)
//   --timeout       seconds to wait for acceptance, one default (WAIT_TIMEOUT_SECONDS)
// Any other flag gets no short char (--encoding, --force, --glob, --reverse): two long names for
// one char is what once made -e mean --endpoint or --encoding. test/commands/flags.test.ts walks
// the manifest and fails on a char with two long names, or a name above used another way.
// Optional arguments set ignoreStdin: oclif would otherwise read piped stdin (whatever arrives in
// 10 ms) into a missing argument; tsvm reads stdin only where `-` asks for it.
// A renamed flag keeps its old long name as a hidden alias (oclif `aliases`, not shown in help)
// for one minor version; a "was" comment at the flag says which.
import {Flags} from '@oclif/core'
import {join} from 'node:path'

import type {OpenChainOptions} from './chain/open.js'
import {idFromString} from './vm/encoding.js'
import {TsvmError} from './vm/errors.js'

/** --data-dir and --endpoint, exclusive with each other. */
export const chainFlags = {
  'data-dir': Flags.string({
    char: 'd',
    description:
      'data dir of the embedded chain; init, propose, stamp and serve create a chain there, the other commands need one [env: TSVM_DATA_DIR; default: <tsvm data dir>/chain]',
    exclusive: ['endpoint'],
    helpGroup: 'CHAIN',
  }),
  endpoint: Flags.string({
    char: 'e',
    description: "a node's chain endpoint, e.g. http://127.0.0.1:9650/ext/bc/<chainID> [env: TSVM_ENDPOINT]",
    exclusive: ['data-dir'],
    helpGroup: 'CHAIN',
  }),
  api: Flags.option({
    options: ['v1.2', 'v1.3'] as const,
    description:
      "the node's API dialect (v1.3: hex data and height; v1.2: CB58 data) [default: read from the node's replies]",
    helpGroup: 'CHAIN',
  })(),
}

/**
 * Where a node's verified blocks are cached between runs: TSVM_CACHE_DIR, else <oclif cache
 * dir>/chains (~/.cache/tsvm/chains on Linux, ~/Library/Caches/tsvm/chains on macOS).
 */
export function blockCacheDir(
  config: {cacheDir?: string},
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  if (env.TSVM_CACHE_DIR) return env.TSVM_CACHE_DIR
  return config.cacheDir === undefined ? undefined : join(config.cacheDir, 'chains')
}

/** Where the chain is, from the flags, then TSVM_DATA_DIR / TSVM_ENDPOINT, then the default data dir. */
export function chainOptions(
  flags: {'data-dir'?: string; endpoint?: string; api?: 'v1.2' | 'v1.3'},
  config: {dataDir: string; cacheDir?: string},
  env: Record<string, string | undefined> = process.env,
): OpenChainOptions {
  if (flags['data-dir'] !== undefined) return {dataDir: flags['data-dir']}
  const cacheDir = blockCacheDir(config, env)
  const api = {...(flags.api === undefined ? {} : {api: flags.api}), ...(cacheDir === undefined ? {} : {cacheDir})}
  if (flags.endpoint !== undefined) return {endpoint: flags.endpoint, ...api}
  const dataDir = env.TSVM_DATA_DIR || undefined
  const endpoint = env.TSVM_ENDPOINT || undefined
  if (dataDir !== undefined && endpoint !== undefined) {
    throw new TsvmError(
      'USAGE',
      'both TSVM_DATA_DIR and TSVM_ENDPOINT are set: unset one, or pass --data-dir or --endpoint',
    )
  }

  if (endpoint !== undefined) return {endpoint, ...api}
  return {dataDir: dataDir ?? join(config.dataDir, 'chain')}
}

/**
 * For commands that work on the embedded chain only (build, accept, reject, mempool, check,
 * init): --data-dir, and --endpoint/--api hidden from help. A node gives them nothing to work on,
 * so they are not offered, but an --endpoint (or TSVM_ENDPOINT) still gets REMOTE_UNSUPPORTED,
 * which says why, rather than "unknown flag".
 */
export const localChainFlags = {
  'data-dir': chainFlags['data-dir'],
  endpoint: {...chainFlags.endpoint, hidden: true},
  api: {...chainFlags.api, hidden: true},
}

/** The one default of --timeout wherever tsvm waits for acceptance on a node (propose, stamp). */
export const WAIT_TIMEOUT_SECONDS = 120

/** --timeout: seconds to wait for acceptance on a node. */
export const waitTimeoutFlag = Flags.integer({
  min: 1,
  default: WAIT_TIMEOUT_SECONDS,
  description: 'on a node, seconds to wait for acceptance before WAIT_TIMEOUT (exit 3)',
})

/** --data-dir alone, for commands that only work on the embedded chain (serve, repair). */
export const dataDirFlag = {...chainFlags['data-dir'], exclusive: undefined}

/** The embedded chain's data dir: the flag, then TSVM_DATA_DIR, then the default; TSVM_ENDPOINT does not apply. */
export function embeddedDataDir(
  dataDir: string | undefined,
  config: {dataDir: string},
  env: Record<string, string | undefined> = process.env,
): string {
  return chainOptions({'data-dir': dataDir}, config, {...env, TSVM_ENDPOINT: undefined}).dataDir!
}

/** The largest block timestamp: Go's time.Unix seconds, an int64. */
const MAX_TIMESTAMP = 0x7f_ff_ff_ff_ff_ff_ff_ffn

/** Parses unix seconds to a bigint with every digit kept (a JS number keeps only 53 bits). */
export function parseTimestamp(input: string): bigint {
  const s = input.trim()
  if (!/^\d+$/.test(s) || BigInt(s) > MAX_TIMESTAMP) {
    throw new TsvmError(
      'USAGE',
      `--timestamp must be a whole number of unix seconds from 0 to ${MAX_TIMESTAMP} (got ${JSON.stringify(input)})`,
    )
  }

  return BigInt(s)
}

/** --timestamp in unix seconds, as a bigint end to end. */
export const timestampFlag = Flags.custom<bigint>({
  parse: async (input) => parseTimestamp(input),
  helpValue: '<seconds>',
})

/** verify's --trust: a block ID taken as accepted (a published checkpoint); repeatable. */
export const trustFlag = Flags.custom<Uint8Array>({
  description: 'a block ID you trust as accepted (a published checkpoint); repeatable',
  multiple: true,
  exclusive: ['data-dir', 'endpoint'],
  parse: async (input) => idFromString(input, '--trust'),
})
