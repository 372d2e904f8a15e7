// A real timestampvm node (the embedded VM behind tsvm serve's HTTP server) with a long chain,
// reached through counting proxies: each proxy forwards every request to the node and counts
// them, so a test can say how many calls a command made. Several proxies on different ports
// give the same chain different URLs.
import {Agent, createServer, request} from 'node:http'
import type {AddressInfo} from 'node:net'

import {Engine} from '../../src/node/engine.js'
import {localChainId} from '../../src/node/serve.js'
import {startServer} from '../../src/node/server.js'
import type {Dialect} from '../../src/vm/formatting.js'
import {sha256} from '../../src/vm/hash.js'
import type {Block} from '../../src/vm/block.js'
import {openTestVm} from './real-vm.js'

/** A counting proxy in front of a chain endpoint. */
export interface CountingProxy {
  /** The chain URL through this proxy: http://127.0.0.1:<port>/ext/bc/<chainID>. */
  url: string
  /** Requests forwarded so far. */
  count(): number
  reset(): void
}

export interface CountingNode {
  chainID: string
  dialect: Dialect
  /** A new proxy to this node (a different URL for the same chain); `asChainId` puts another ID in its path. */
  proxy(asChainId?: string): Promise<CountingProxy>
  /** Accepts `n` more blocks (payloads derived from `tag`). */
  addBlocks(n: number, tag?: string): Promise<Block[]>
  /** The accepted block at a height. */
  blockAt(height: number): Promise<Block>
  close(): Promise<void>
}

/** A node of `dialect` whose chain has `blocks` blocks above genesis; `genesis` picks the chain. */
export async function countingNode(
  dialect: Dialect,
  blocks: number,
  genesis = new Uint8Array(0),
): Promise<CountingNode> {
  const t = await openTestVm({genesis, mempoolLimit: 1_000_000})
  const genesisId = (await t.vm.getBlockAtHeight(0n))!.block.id
  const chainID = localChainId(genesisId)
  let made = 0
  const addBlocks = async (n: number, tag = 'b'): Promise<Block[]> => {
    const payloads = Array.from({length: n}, () => sha256(new TextEncoder().encode(`${tag}-${made++}`)))
    return t.vm.acceptPayloads(payloads)
  }

  if (blocks > 0) await addBlocks(blocks)
  const engine = new Engine(t.engine)
  const s = await startServer({chain: engine, chainId: chainID, vmId: 'v', dialect, port: 0})
  const proxies: Array<() => Promise<void>> = []
  const target = new URL(s.endpoints.chain)
  const agent = new Agent({keepAlive: true, maxSockets: 8})
  return {
    chainID,
    dialect,
    addBlocks,
    async blockAt(height) {
      return (await t.vm.getBlockAtHeight(BigInt(height)))!.block
    },
    async proxy(asChainId = chainID) {
      let n = 0
      const server = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          n++
          const body = Buffer.concat(chunks)
          const fwd = request(
            target,
            {method: 'POST', agent, headers: {'content-type': 'application/json', 'content-length': body.length}},
            (r) => {
              const out: Buffer[] = []
              r.on('data', (c: Buffer) => out.push(c))
              r.on('end', () => {
                res.writeHead(r.statusCode ?? 502, {'Content-Type': 'application/json'})
                res.end(Buffer.concat(out))
              })
            },
          )
          fwd.on('error', () => {
            res.writeHead(502)
            res.end()
          })
          fwd.end(body)
        })
      })
      await new Promise<void>((r) => {
        server.listen(0, '127.0.0.1', r)
      })
      proxies.push(async () => {
        server.closeAllConnections()
        await new Promise<void>((r) => {
          server.close(() => r())
        })
      })
      const {port} = server.address() as AddressInfo
      return {
        url: `http://127.0.0.1:${port}/ext/bc/${asChainId}`,
        count: () => n,
        reset() {
          n = 0
        },
      }
    },
    async close() {
      for (const p of proxies) await p()
      agent.destroy()
      await s.close()
      await engine.close()
      await t.close()
    },
  }
}
