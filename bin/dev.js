#!/usr/bin/env node
// Development entry point: runs the same compiled commands with oclif's development settings
// (no manifest cache, full stack traces). Build first with `npm run build`.
import {execute} from '../dist/bundle/main.js'

await execute({development: true, dir: import.meta.url})
