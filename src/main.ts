// The CLI entry point that bin/run.js loads from the bundle: oclif's runner, bundled once so the
// commands and the runner share one copy of @oclif/core.
export {execute} from '@oclif/core'
