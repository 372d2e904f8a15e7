// A helper thread of a big stamp run (see threads.ts): takes chunks of the job it is sent,
// hashing files, writing receipts' temp files or moving them to their names, or (batch verify)
// hashing files and checking their receipts offline, with the same code
// as the main thread, and answers once no chunk is left or a thread has failed.
import {parentPort} from 'node:worker_threads'

import {boardFrom, drain, errorShape, type JobMessage, type JobReply} from './threads.js'
import {itemChecker, type ItemCheck} from './check-work.js'
import {hashSmallFile, readBuffer, receiptCommitter, receiptWriter} from './work.js'

let buf: Buffer | undefined

function runJob(message: JobMessage): unknown[] | undefined {
  const board = boardFrom(message)
  if (message.kind === 'check') {
    let out: ItemCheck[] = []
    const {results} = message
    // each chunk's results go to the main thread at once (it takes them between its own chunks)
    const send = () => {
      if (results === undefined || out.length === 0) return
      results.postMessage(out)
      out = []
    }

    const check = itemChecker(message.paths, message.receipts, new Uint8Array(message.digests))
    drain(
      board,
      (i) => {
        const r = check(i)
        if (r !== undefined) out.push(r)
        return r !== undefined
      },
      send,
    )
    send()
    return out
  }

  if (message.kind === 'hash') {
    const digests = new Uint8Array(message.digests)
    buf ??= readBuffer()
    const b = buf
    drain(board, (i) => {
      try {
        const digest = hashSmallFile(message.paths[i]!, b)
        if (digest === undefined) return false
        digests.set(digest, i * 32)
        return true
      } catch {
        // the main thread hashes it again and reports the error in full
        return false
      }
    })
  } else {
    const fn = message.kind === 'write' ? receiptWriter(message.job) : receiptCommitter(message.job)
    drain(board, (i) => {
      fn(i)
      return true
    })
  }

  return undefined
}

parentPort?.on('message', (message: JobMessage) => {
  let reply: JobReply
  try {
    const out = runJob(message)
    reply = out === undefined ? {ok: true} : {ok: true, out}
  } catch (error) {
    reply = {ok: false, error: errorShape(error)}
  }

  parentPort!.postMessage(reply)
})
