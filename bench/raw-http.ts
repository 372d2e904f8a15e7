// A minimal keep-alive HTTP/1.1 client over raw sockets, for the open load of load.ts: on a
// 2-core machine the load generator shares the CPU with the server it measures, and this client
// spends a fraction of what a full client does per request. It handles only what the servers
// under test send: a status line, headers with Content-Length, and a body of that length.
import {connect, type Socket} from 'node:net'

export interface RawResponse {
  status: number
  body: string
}

const HEADER_END = Buffer.from('\r\n\r\n')

/** One connection, one request in flight. */
class Connection {
  private readonly socket: Socket
  private pending: Buffer = Buffer.alloc(0)
  private waiter: {resolve: (r: RawResponse) => void; reject: (e: Error) => void} | undefined
  private failed: Error | undefined

  constructor(port: number) {
    this.socket = connect({host: '127.0.0.1', port, noDelay: true})
    this.socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
      this.parse()
    })
    // eslint-disable-next-line unicorn/consistent-function-scoping -- it uses this connection's `this`
    const fail = (error: Error) => {
      this.failed ??= error
      const w = this.waiter
      this.waiter = undefined
      w?.reject(error)
    }

    this.socket.on('error', fail)
    this.socket.on('close', () => fail(new Error('connection closed by the server')))
  }

  /** Closed or failed while no request was on it (a server ends idle keep-alive connections): replace it. */
  get closedIdle(): boolean {
    return this.failed !== undefined && this.waiter === undefined
  }

  send(request: Buffer): Promise<RawResponse> {
    if (this.failed) return Promise.reject(this.failed)
    return new Promise((resolve, reject) => {
      this.waiter = {resolve, reject}
      this.socket.write(request)
    })
  }

  private parse(): void {
    const end = this.pending.indexOf(HEADER_END)
    if (end === -1 || !this.waiter) return
    const head = this.pending.toString('latin1', 0, end)
    const status = Number(head.slice(9, 12))
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    const length = m ? Number(m[1]) : 0
    const total = end + 4 + length
    if (this.pending.length < total) return
    const body = this.pending.toString('utf8', end + 4, total)
    this.pending = this.pending.subarray(total)
    const w = this.waiter
    this.waiter = undefined
    w.resolve({status, body})
  }

  close(): void {
    this.socket.destroy()
  }
}

/**
 * A fixed number of connections; a request waits (in order) for a free one. A connection the
 * server closed while it sat idle (node:http and tsvm serve end keep-alive connections idle for
 * 5 s; at a steady rate the ones at the bottom of the free stack sit that long) is replaced by a
 * new one before a request is sent on it, as any keep-alive client does: only a connection lost
 * with a request on it is an error.
 */
export class RawPool {
  private readonly free: Connection[] = []
  private readonly all: Connection[] = []
  private readonly queue: Array<(c: Connection) => void> = []

  constructor(
    private readonly port: number,
    private readonly path: string,
    connections: number,
  ) {
    for (let i = 0; i < connections; i++) {
      const c = new Connection(port)
      this.all.push(c)
      this.free.push(c)
    }
  }

  /** POSTs a JSON body. */
  async post(body: string): Promise<RawResponse> {
    const bytes = Buffer.byteLength(body)
    const request = Buffer.from(
      `POST ${this.path} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\nContent-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n${body}`,
    )
    let c =
      this.free.pop() ??
      (await new Promise<Connection>((resolve) => {
        this.queue.push(resolve)
      }))
    if (c.closedIdle) {
      const fresh = new Connection(this.port)
      this.all[this.all.indexOf(c)] = fresh
      c = fresh
    }

    try {
      return await c.send(request)
    } finally {
      const next = this.queue.shift()
      if (next) next(c)
      else this.free.push(c)
    }
  }

  /** Free connections the server has closed, to be replaced when next taken. */
  get closedIdleCount(): number {
    return this.free.filter((c) => c.closedIdle).length
  }

  close(): void {
    for (const c of this.all) c.close()
  }
}
