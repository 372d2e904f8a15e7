// The baseline of the server figures: a bare node:http server that reads the request body and
// answers every POST with the same fixed JSON body. It prints its port on stdout, then serves
// until killed.
//
//   node dist/bench/http-baseline.js '<fixed body>'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

const body = Buffer.from((process.argv[2] ?? '{"jsonrpc":"2.0","result":{},"id":1}') + '\n')

const server = createServer((req, res) => {
  req.on('data', () => {})
  req.on('end', () => {
    res.writeHead(200, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length})
    res.end(body)
  })
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({port: (server.address() as AddressInfo).port}) + '\n')
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
