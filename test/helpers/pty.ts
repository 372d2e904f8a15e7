// Runs the real tsvm binary on a pseudo-terminal, as in an interactive shell, through util-linux
// `script` (stdout and stderr both go to the terminal, so the output is the two interleaved).
import {spawn, spawnSync} from 'node:child_process'

import {BIN, ROOT} from './cli.js'

/** Whether util-linux `script` is installed; tests that need a terminal are skipped without it. */
export const HAVE_SCRIPT = spawnSync('script', ['--version'], {stdio: 'ignore'}).status === 0

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/**
 * Runs `tsvm ...args` with stdout and stderr on a terminal and returns what the terminal got.
 * The environment is a plain colour terminal (TERM=xterm-256color; no CI, NO_COLOR, FORCE_COLOR
 * or TSVM_* variables) plus `env`.
 */
export function tsvmOnTty(args: string[], env: Record<string, string> = {}): Promise<{code: number; output: string}> {
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('TSVM_') && !['CI', 'NO_COLOR', 'FORCE_COLOR', 'COLORTERM'].includes(k))
      base[k] = v
  }

  const command = [process.execPath, BIN, ...args].map((s) => quote(s)).join(' ')
  return new Promise((resolve, reject) => {
    // -e: exit with the command's code; -q: no start/end banner; /dev/null: no typescript file.
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: {...base, TERM: 'xterm-256color', ...env},
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const out: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.on('error', reject)
    child.on('close', (code) => resolve({code: code ?? 1, output: Buffer.concat(out).toString('utf8')}))
  })
}
