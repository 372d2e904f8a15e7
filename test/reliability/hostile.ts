// Hostile HTTP clients for a server on 127.0.0.1, each bounded in count and time. Every attack
// checks what the server answered (the right status, or a closed connection), and the caller
// checks after each one that a normal request still works and that the server's memory stays
// bounded. Raw sockets (node:net) so requests can be malformed, partial or slow on purpose.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'

/** What came back on a raw connection: the status line's code (0: none) and whether it closed. */
export interface RawReply {
  status: number
  text: string
  closed: boolean
}

/** The resident set size of a process in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  return m ? Number(m[1]) * 1024 : 0
}

/** Opens a socket to 127.0.0.1:port (or `host`). */
export function open(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({host, port}, () => resolve(s))
    s.once('error', reject)
  })
}

/** Writes `chunks` (with `gapMs` between them), then collects the reply until close or `waitMs`. */
export async function send(
  port: number,
  chunks: Array<string | Buffer>,
  options: {gapMs?: number; waitMs?: number; host?: string} = {},
): Promise<RawReply> {
  const s = await open(port, options.host)
  const got: Buffer[] = []
  let closed = false
  s.on('data', (b: Buffer) => got.push(b))
  const done = new Promise<void>((resolve) => {
    s.on('close', () => {
      closed = true
      resolve()
    })
    s.on('error', () => {})
  })
  for (const c of chunks) {
    if (s.destroyed) break
    s.write(c)
    if (options.gapMs)
      await new Promise((r) => {
        setTimeout(r, options.gapMs)
      })
  }

  const timer = new Promise<void>((r) => {
    setTimeout(r, options.waitMs ?? 5000).unref()
  })
  await Promise.race([done, timer])
  s.destroy()
  const text = Buffer.concat(got).toString('latin1')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text)
  return {status: m ? Number(m[1]) : 0, text, closed}
}

/** A request head for `path` with the given method and headers (Host is the loopback). */
export function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: 127.0.0.1`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ]
  return lines.join('\r\n') + '\r\n\r\n'
}

/** A complete JSON POST with Connection: close. */
export function post(path: string, body: string | Buffer, extra: Record<string, string | number> = {}): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body
  return Buffer.concat([
    Buffer.from(
      head('POST', path, {
        'Content-Type': 'application/json',
        'Content-Length': b.length,
        Connection: 'close',
        ...extra,
      }),
    ),
    b,
  ])
}

const CHAIN = '/ext/bc/timestampvm'
const getBlock = JSON.stringify({jsonrpc: '2.0', method: 'timestampvm.getBlock', params: {}, id: 1})

/** A normal getBlock; asserts a JSON-RPC result comes back. */
export async function assertAlive(port: number): Promise<void> {
  const r = await send(port, [post(CHAIN, getBlock)], {waitMs: 15_000})
  assert.equal(r.status, 200, `a normal request after the attack got ${r.status}: ${r.text.slice(0, 200)}`)
  assert.match(r.text, /"result":\{/)
}

/** One attack: a name, and a run that asserts the server's answer and returns how many requests it made. */
export interface Attack {
  name: string
  run(port: number): Promise<number>
}

function expectStatus(r: RawReply, allowed: number[], what: string): void {
  assert.ok(
    allowed.includes(r.status) || (r.status === 0 && r.closed),
    `${what}: got ${r.status || 'no reply'} (${r.text.slice(0, 120)})`,
  )
  assert.notEqual(r.status, 500, `${what}: 500`)
}

/** The attacks, scaled by `n` (1 in the fast suite, more in the stress run). */
export function attacks(n: number): Attack[] {
  return [
    {
      name: 'oversized bodies: declared, streamed and chunked beyond the limit',
      async run(port) {
        const big = Buffer.alloc(2 * 1024 * 1024, 0x20)
        let count = 0
        for (let i = 0; i < n; i++) {
          // declared too large: refused before the body is read
          expectStatus(
            await send(port, [
              head('POST', CHAIN, {'Content-Type': 'application/json', 'Content-Length': 50 * 1024 * 1024}),
            ]),
            [413],
            'declared 50 MiB',
          )
          // declared honestly and sent: refused once the limit is crossed
          expectStatus(await send(port, [post(CHAIN, big)]), [413], '2 MiB body')
          // chunked, no length: refused once the limit is crossed
          const chunk = Buffer.alloc(64 * 1024, 0x20)
          const chunks: Buffer[] = [
            Buffer.from(head('POST', CHAIN, {'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'})),
          ]
          for (let k = 0; k < 40; k++)
            chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'))
          expectStatus(await send(port, chunks), [413], 'chunked 2.5 MiB')
          count += 3
        }

        return count
      },
    },
    {
      name: 'wrong methods and content types',
      async run(port) {
        let count = 0
        for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'FOO']) {
          const r = await send(port, [head(method, CHAIN, {'Content-Length': 0, Connection: 'close'})])
          expectStatus(r, method === 'FOO' || method === 'TRACE' ? [400, 405] : [405], method)
          count++
        }

        for (const type of [
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json-patch+json',
          '',
        ]) {
          const extra: Record<string, string> = type === '' ? {} : {'Content-Type': type}
          const r = await send(port, [
            Buffer.concat([
              Buffer.from(head('POST', CHAIN, {...extra, 'Content-Length': getBlock.length, Connection: 'close'})),
              Buffer.from(getBlock),
            ]),
          ])
          expectStatus(r, [415], `Content-Type ${JSON.stringify(type)}`)
          count++
        }

        return count
      },
    },
    {
      name: 'deeply nested, huge and odd JSON, huge ids',
      async run(port) {
        const bodies: Array<[string, string | Buffer]> = [
          ['500k nested arrays', '['.repeat(500_000) + ']'.repeat(500_000)],
          ['200k nested objects', '{"a":'.repeat(200_000)],
          ['nested params', `{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":${'['.repeat(100_000)},"id":1}`],
          [
            'a 1,000,000-char string',
            JSON.stringify({
              jsonrpc: '2.0',
              method: 'timestampvm.proposeBlock',
              params: {data: 'a'.repeat(1_000_000)},
              id: 1,
            }),
          ],
          [
            '100k-element array',
            JSON.stringify({
              jsonrpc: '2.0',
              method: 'timestampvm.getBlock',
              params: Array.from({length: 100_000}).fill(0),
              id: 1,
            }),
          ],
          [
            'a 500,000-digit id',
            `{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{},"id":${'9'.repeat(500_000)}}`,
          ],
          [
            'a 300,000-char string id',
            `{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{},"id":"${String.raw`\u00e9`.repeat(50_000)}"}`,
          ],
          ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0x7d])],
          ['50k keys', '{' + Array.from({length: 50_000}, (_, i) => `"k${i}":${i}`).join(',') + '}'],
          ['NUL bytes', '\0'.repeat(1000)],
        ]
        let count = 0
        for (let i = 0; i < n; i++) {
          for (const [what, body] of bodies) {
            const r = await send(port, [post(CHAIN, body)], {waitMs: 15_000})
            expectStatus(r, [200, 413], what)
            if (r.status === 200) {
              const json = r.text.slice(r.text.indexOf('\r\n\r\n') + 4)
              if (json !== '') assert.equal((JSON.parse(json) as {jsonrpc: string}).jsonrpc, '2.0', what)
            }

            count++
          }
        }

        return count
      },
    },
    {
      name: 'malformed HTTP: garbage, huge headers, header floods, bad framing',
      async run(port) {
        const cases: Array<[string, Array<string | Buffer>, number[]]> = [
          ['binary garbage', [Buffer.from(Array.from({length: 4096}, (_, i) => (i * 7919) & 255))], [400]],
          [
            'a 64 KiB header',
            [`POST ${CHAIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`],
            [431, 400],
          ],
          [
            '2000 headers',
            [
              `POST ${CHAIN} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({length: 2000}, (_, i) => `X-H${i}: v`).join('\r\n')}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
            ],
            [415, 431, 400],
          ],
          [
            'conflicting lengths',
            [
              `POST ${CHAIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
            ],
            [400],
          ],
          [
            'negative length',
            [
              `POST ${CHAIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n`,
            ],
            [400],
          ],
          ['a 4 KiB URL', [head('POST', '/' + 'x'.repeat(4096), {'Content-Length': 0, Connection: 'close'})], [404]],
          ['HTTP/0.9', ['GET /\r\n\r\n'], [400, 404]],
          [
            'foreign Host',
            [`POST ${CHAIN} HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`],
            [403],
          ],
        ]
        for (let i = 0; i < n; i++)
          for (const [what, chunks, allowed] of cases) expectStatus(await send(port, chunks), allowed, what)
        return cases.length * n
      },
    },
    {
      name: 'CORS, health and info: hostile preflights, node-API calls and paths',
      async run(port) {
        const preflight = (origin: string, method: string, headers: string): string =>
          head('OPTIONS', CHAIN, {
            Origin: origin,
            'Access-Control-Request-Method': method,
            'Access-Control-Request-Headers': headers,
            Connection: 'close',
          })
        const cases: Array<[string, Array<string | Buffer>, number[]]> = [
          [
            'preflight with a 16 KiB Origin',
            [preflight('https://' + 'a'.repeat(16 * 1024), 'POST', 'content-type')],
            [200, 431],
          ],
          [
            'preflight asking 500 headers',
            [preflight('null', 'POST', Array.from({length: 500}, (_, i) => `x-h${i}`).join(','))],
            [200],
          ],
          ['preflight asking a strange method', [preflight('https://x.example', 'DELETE\tX', '')], [200, 400]],
          [
            'preflight on an unknown path',
            [head('OPTIONS', '/nowhere', {Origin: 'x', 'Access-Control-Request-Method': 'GET', Connection: 'close'})],
            [200],
          ],
          [
            'GET health with a huge query',
            [head('GET', '/ext/health?' + 'tag=x&'.repeat(1000), {Connection: 'close'})],
            [200, 503],
          ],
          [
            'health.health with junk params',
            [post('/ext/health', '{"jsonrpc":"2.0","method":"health.health","params":[[[[1]]],{"tags":7}],"id":1}')],
            [200],
          ],
          ['health on a sub-path by POST', [post('/ext/health/liveness', getBlock)], [200, 503]],
          [
            'info with an array for the chain',
            [post('/ext/info', '{"jsonrpc":"2.0","method":"info.isBootstrapped","params":{"chain":["x"]},"id":1}')],
            [200],
          ],
          [
            'info with a 512 KiB alias',
            [
              post(
                '/ext/info',
                `{"jsonrpc":"2.0","method":"info.getBlockchainID","params":{"alias":"${'a'.repeat(512 * 1024)}"},"id":1}`,
              ),
            ],
            [200],
          ],
          [
            'info with a method of a thousand dots',
            [post('/ext/info', `{"jsonrpc":"2.0","method":"${'info.'.repeat(1000)}","id":1}`)],
            [200],
          ],
          [
            'info.getVMs batched 100 times',
            [
              post(
                '/ext/info',
                '[' + Array.from({length: 100}).fill('{"jsonrpc":"2.0","method":"info.getVMs","id":1}').join(',') + ']',
              ),
            ],
            [200],
          ],
          [
            'a path of 2000 dot segments',
            [head('GET', '/ext' + '/..'.repeat(2000) + '/info', {Connection: 'close'})],
            [301],
          ],
          [
            'an encoded NUL and dot-dot',
            [head('POST', '/ext/%00/%2e%2e/info', {'Content-Length': 0, Connection: 'close'})],
            [301, 404],
          ],
          ['a broken escape', [head('POST', '/ext/%zz', {'Content-Length': 0, Connection: 'close'})], [400]],
          [
            'an absolute-form target to another host',
            [head('POST', 'http://evil.example/ext/info', {'Content-Length': 0, Connection: 'close'})],
            [403],
          ],
        ]
        for (let i = 0; i < n; i++)
          for (const [what, chunks, allowed] of cases) expectStatus(await send(port, chunks), allowed, what)
        return cases.length * n
      },
    },
    {
      name: 'pipelined requests on one connection',
      async run(port) {
        const one = Buffer.concat([
          Buffer.from(head('POST', CHAIN, {'Content-Type': 'application/json', 'Content-Length': getBlock.length})),
          Buffer.from(getBlock),
        ])
        const count = 50 * n
        const r = await send(
          port,
          [Buffer.concat([...Array.from<Buffer>({length: count - 1}).fill(one), post(CHAIN, getBlock)])],
          {
            waitMs: 20_000,
          },
        )
        const answered = r.text.split('HTTP/1.1 200').length - 1
        assert.equal(answered, count, `${answered} of ${count} pipelined requests answered`)
        return count
      },
    },
  ]
}

/**
 * Slowloris: `count` connections that send a partial request head and dribble one header line
 * every `gapMs`, plus `count` that declare a body and send only part of it. While they hang,
 * normal requests must still be answered. Returns the sockets so the caller can wait for the
 * server to close them (its header/request timeouts) or destroy them.
 */
export async function slowClients(
  port: number,
  count: number,
  gapMs: number,
): Promise<{sockets: Socket[]; open(): number; stop(): void}> {
  const dribblers: Socket[] = []
  const stallers: Socket[] = []
  for (let i = 0; i < count; i++) {
    const s = await open(port)
    s.on('error', () => {}).resume()
    s.write(`POST ${CHAIN} HTTP/1.1\r\nHost: 127.0.0.1\r\n`)
    dribblers.push(s)
    const p = await open(port)
    p.on('error', () => {}).resume()
    p.write(head('POST', CHAIN, {'Content-Type': 'application/json', 'Content-Length': 1000}) + '{"jsonrpc":')
    stallers.push(p)
  }

  let k = 0
  const timer = setInterval(() => {
    k++
    for (const s of dribblers) if (!s.destroyed) s.write(`X-Slow-${k}: 1\r\n`)
  }, gapMs)
  const sockets = [...dribblers, ...stallers]
  const closed = new Set<Socket>()
  for (const s of sockets) s.once('close', () => closed.add(s))
  return {
    sockets,
    open: () => sockets.length - closed.size,
    stop() {
      clearInterval(timer)
      for (const s of sockets) s.destroy()
    },
  }
}

/** Opens `count` connections at once, each sending a normal request; returns how many were answered 200. */
export async function manyConnections(port: number, count: number): Promise<number> {
  const replies = await Promise.all(
    Array.from({length: count}, () =>
      send(port, [post(CHAIN, getBlock)], {waitMs: 30_000}).catch(
        () => ({status: 0, text: '', closed: true}) as RawReply,
      ),
    ),
  )
  for (const r of replies) assert.notEqual(r.status, 500)
  return replies.filter((r) => r.status === 200).length
}

/** Spellings of loopback addresses for `serve --host`: each binds loopback, so each must check Host. */
export const LOOPBACK_SPELLINGS = ['127.1', 'LOCALHOST', '127.000.000.001', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']

/** Host headers a DNS-rebinding page (or a confused proxy) could send to a loopback server. */
const FOREIGN_HOSTS = [
  'evil.example',
  'evil.example:9650',
  'localhost.evil.example',
  '127.0.0.1.evil.example',
  'evil@127.0.0.1',
  '127.0.0.1/x',
  'x.localhost',
  'localhost.',
]

/** Hosts the node's rule answers whatever the address: IP literals and an empty Host (no DNS name to rebind). */
const IP_HOSTS = ['10.0.0.1', '[::2]', '[::2]:9650', '']

/** Sends getBlock with each foreign Host name to a server bound at `address`: each must get the node's 403; its own address and IP literals get 200. */
export async function foreignHostsRefused(port: number, address: string): Promise<number> {
  const body = Buffer.from(getBlock)
  const request = (host: string): Buffer =>
    Buffer.concat([
      Buffer.from(
        `POST ${CHAIN} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      ),
      body,
    ])
  for (const host of FOREIGN_HOSTS) {
    const r = await send(port, [request(host)], {host: address})
    assert.ok(
      r.status === 403 && r.text.endsWith('invalid host specified\n'),
      `Host ${JSON.stringify(host)} on a server bound to ${address}: ${r.status || 'no reply'} ${r.text.slice(0, 120)}`,
    )
  }

  const own = await send(port, [request(address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`)], {
    host: address,
  })
  assert.equal(own.status, 200, `own address as Host: ${own.text.slice(0, 120)}`)
  for (const host of IP_HOSTS) {
    const r = await send(port, [request(host)], {host: address})
    assert.equal(
      r.status,
      200,
      `Host ${JSON.stringify(host)} (an IP literal or none) on a server bound to ${address}: ${r.text.slice(0, 120)}`,
    )
  }

  return FOREIGN_HOSTS.length + IP_HOSTS.length + 1
}

/** A connection with one kept-alive request answered: the server counts it until it is closed. */
async function heldConnection(port: number): Promise<Socket> {
  const s = await open(port)
  s.on('error', () => {})
  let got = ''
  const answered = new Promise<void>((resolve, reject) => {
    s.on('data', (b: Buffer) => {
      got += b.toString('latin1')
      const end = got.indexOf('\r\n\r\n')
      const length = /content-length: (\d+)/i.exec(got)
      if (end !== -1 && length && got.length >= end + 4 + Number(length[1])) resolve()
    })
    s.once('close', () => reject(new Error(`a held connection was closed before its answer: ${got.slice(0, 120)}`)))
  })
  s.write(head('POST', CHAIN, {'Content-Type': 'application/json', 'Content-Length': getBlock.length}) + getBlock)
  await answered
  assert.match(got, /^HTTP\/1\.1 200 /)
  return s
}

/**
 * Connection exhaustion: `cap` connections held open (the server's --max-connections), then
 * `extra` more, silent or sending a request: each must get a 503 and be closed by the server
 * (waited for up to 15 s: a generous bound, not a measurement). Once the held ones go, a normal
 * request is served again. Returns the number of connections made.
 */
export async function overCap(port: number, cap: number, extra: number): Promise<number> {
  const held: Socket[] = []
  try {
    for (let i = 0; i < cap; i++) held.push(await heldConnection(port))
    const replies = await Promise.all(
      Array.from({length: extra}, (_, i) => send(port, i % 2 === 0 ? [] : [post(CHAIN, getBlock)], {waitMs: 15_000})),
    )
    for (const r of replies) {
      assert.equal(r.status, 503, `a connection over the cap got ${r.status || 'no reply'}: ${r.text.slice(0, 120)}`)
      assert.ok(r.closed, 'a connection over the cap was left open')
      assert.match(r.text, /\r\nConnection: close\r\n/)
    }
  } finally {
    for (const s of held) s.destroy()
  }

  // The server notices the closes on its next turns; a normal request is served then.
  for (let attempt = 0; ; attempt++) {
    const r = await send(port, [post(CHAIN, getBlock)], {waitMs: 15_000})
    if (r.status === 200) break
    assert.ok(attempt < 100 && r.status === 503, `after the held connections closed: ${r.status || 'no reply'}`)
    await new Promise((resolve) => {
      setTimeout(resolve, 50)
    })
  }

  return cap + extra
}

/** Opens `count` connections at once, each sending a normal request; how many got each status (0: closed without a reply). */
export async function connectionStatuses(port: number, count: number): Promise<Map<number, number>> {
  const replies = await Promise.all(
    Array.from({length: count}, () =>
      send(port, [post(CHAIN, getBlock)], {waitMs: 30_000}).catch(
        () => ({status: 0, text: '', closed: true}) as RawReply,
      ),
    ),
  )
  const counts = new Map<number, number>()
  for (const r of replies) counts.set(r.status, (counts.get(r.status) ?? 0) + 1)
  return counts
}
