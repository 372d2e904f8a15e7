// A helper thread of a big stamp run (see threads.ts): takes chunks of the job it is sent,
// hashing files, writing receipts' temp files or moving them to their names, with the same code
// as the main thread, and answers once no chunk is left or a thread has failed.
import {parentPort} from 'node:worker_threads'

import {boardFrom, drain, errorShape, type JobMessage, type JobReply} from './threads.js'
import {hashSmallFile, readBuffer, receiptCommitter, receiptWriter} from './work.js'

let buf: Buffer | undefined

function runJob(message: JobMessage): void {
  const board = boardFrom(message)
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
}

parentPort?.on('message', (message: JobMessage) => {
  let reply: JobReply
  try {
    runJob(message)
    reply = {ok: true}
  } catch (error) {
    reply = {ok: false, error: errorShape(error)}
  }

  parentPort!.postMessage(reply)
})
