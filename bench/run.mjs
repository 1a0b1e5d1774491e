// `pnpm --dir bench bench`: every benchmark, one after the other, never concurrently.

import { config, describeMachine } from './lib/config.mjs'
import { main as resourceServer } from './resource-server.mjs'
import { main as webApp } from './web-app.mjs'
import { main as webAppFastify } from './web-app-fastify.mjs'

const machine = describeMachine()
process.stdout.write(
  `# codegrant benchmarks\n\n${machine.nproc} CPUs (${machine.cpuModel}), Node ${machine.node}; ` +
    `${config.connections} connections, pipelining 1, ${config.warmup} s warm-up + ` +
    `${config.duration} s measured, median of ${config.rounds} rounds (order rotated).\n\n`,
)
const started = Date.now()
await resourceServer()
await webApp()
await webAppFastify()
process.stderr.write(`  total ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
