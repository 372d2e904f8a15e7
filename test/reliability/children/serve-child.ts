// Runs the embedded chain behind the JSON-RPC server, as `tsvm serve` does, printing one JSON
// start line {"port": ...}. Usage: serve-child.js <dataDir>. Does nothing without arguments.
import {serveChain} from '../../../src/api/serve.js'
import {DEFAULT_GENESIS} from '../../../src/chain/embedded.js'
import {TimestampVM} from '../../../src/vm/vm.js'

async function main(dir: string): Promise<void> {
  const vm = await TimestampVM.open(dir)
  if (!vm.isInitialized()) await vm.initialize(DEFAULT_GENESIS)
  const engineVm = {
    lastAcceptedId: async () => vm.lastAccepted().id,
    getBlock: async (id: Uint8Array) => (await vm.getBlock(id))?.block,
    mempoolSize: () => vm.mempool().length,
    proposeMany: async (p: Uint8Array[]) => {
      await vm.proposeMany(p)
    },
    buildAndAccept: (o?: {max?: number}) => vm.buildAndAccept(o),
    close: () => vm.close(),
  }
  const serving = await serveChain({vm: engineVm, genesisId: (await vm.getBlockAtHeight(0n))!.block.id, port: 0})
  process.stdout.write(JSON.stringify(serving.info) + '\n')
  process.once('SIGTERM', () => void serving.close().then(() => process.exit(0)))
}

const [dir] = process.argv.slice(2)
if (dir !== undefined) await main(dir)
