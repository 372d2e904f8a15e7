// Raw HTTP requests for wire tests: exact headers in, exact status/headers/body out.
import {request} from 'node:http'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** The body as the bytes that came. */
  bytes: Buffer
}

export interface RawRequest {
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** The address to connect to (default 127.0.0.1). */
  host?: string
}

/** Sends one request on a fresh connection to 127.0.0.1:port (or `req.host`). */
export function raw(port: number, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: req.host ?? '127.0.0.1',
        port,
        method: req.method ?? 'POST',
        path: req.path,
        headers: req.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            bytes: Buffer.concat(chunks),
          }),
        )
        res.on('error', reject)
      },
    )
    r.setTimeout(10_000, () => r.destroy(new Error('test request timed out')))
    r.on('error', reject)
    r.end(req.body)
  })
}

/** POSTs a JSON-RPC body with Content-Type application/json. */
export function rpc(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return raw(port, {path, body, headers: {'Content-Type': 'application/json', ...headers}})
}
