// The baselines of the server figures: a bare node:http server that reads the request body and
// answers every POST with the same fixed JSON body. It prints its port on stdout, then serves
// until killed.
//
// Given a directory, it is the durable floor of proposeBlock instead: before answering, each
// request's writes go to a bare classic-level database there, with a group commit like tsvm
// serve's (requests that arrive while a synced write is in flight share the next one). Per
// request it writes what tsvm writes per accepted block, in the same sizes: the block under a
// 64-byte key (110 bytes), its height index (40-byte key, 32 bytes) and its payload index
// (96-byte key, empty); per batch the last accepted and preferred IDs. No JSON-RPC, no block
// codec, no VM: what is left is node:http, LevelDB and the disk.
//
//   node dist/bench/http-baseline.js '<fixed body>' [<db dir>]
import {createHash} from 'node:crypto'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {ClassicLevel} from 'classic-level'

const body = Buffer.from((process.argv[2] ?? '{"jsonrpc":"2.0","result":{},"id":1}') + '\n')
const dir = process.argv[3]

type Commit = (request: Buffer) => Promise<void>

const prefix = (name: string) => createHash('sha256').update(name).digest()

/** The durable floor's group commit over a fresh database in `dir`. */
async function groupCommit(dir: string): Promise<Commit> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {keyEncoding: 'view', valueEncoding: 'view'})
  await db.open()
  const [blockPrefix, heightPrefix, dataPrefix] = ['block', 'height', 'data'].map((name) => prefix(name)) as [
    Buffer,
    Buffer,
    Buffer,
  ]
  const [lastKey, preferredKey] = [prefix('last').subarray(0, 33), prefix('preferred').subarray(0, 33)]
  let pending: Array<{request: Buffer; done: () => void; failed: (e: unknown) => void}> = []
  let writing = false
  let height = 0n
  async function flush(): Promise<void> {
    writing = true
    while (pending.length > 0) {
      const group = pending
      pending = []
      const batch = db.batch()
      let id = Buffer.alloc(32)
      for (const {request} of group) {
        const block = Buffer.alloc(110)
        request.copy(block, 0, 0, Math.min(request.length, block.length))
        block.writeBigUInt64BE(++height, 32)
        id = createHash('sha256').update(block).digest()
        const heightKey = Buffer.alloc(40)
        heightPrefix.copy(heightKey)
        heightKey.writeBigUInt64BE(height, 32)
        batch.put(Buffer.concat([blockPrefix, id]), block)
        batch.put(heightKey, id)
        batch.put(Buffer.concat([dataPrefix, block.subarray(40, 72), id]), new Uint8Array(0))
      }

      batch.put(lastKey, id)
      batch.put(preferredKey, id)
      try {
        await batch.write({sync: true})
        for (const r of group) r.done()
      } catch (error) {
        for (const r of group) r.failed(error)
      }
    }

    writing = false
  }

  return (request) =>
    new Promise<void>((done, failed) => {
      pending.push({request, done, failed})
      if (!writing && pending.length === 1)
        setImmediate(() => {
          void flush()
        })
    })
}

const commit = dir ? await groupCommit(dir) : undefined

const server = createServer((req, res) => {
  const parts: Buffer[] = []
  req.on('data', (chunk: Buffer) => {
    if (commit) parts.push(chunk)
  })
  const answer = () => {
    res.writeHead(200, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length})
    res.end(body)
  }

  req.on('end', () => {
    if (!commit) return answer()
    commit(Buffer.concat(parts)).then(answer, (error: unknown) => {
      res.writeHead(500).end(String(error))
    })
  })
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({port: (server.address() as AddressInfo).port}) + '\n')
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
