// Instructions per authenticated `GET /me` (issue 9), counted by valgrind's callgrind: steadier
// than req/s or CPU time on a shared machine. Each contender's server (bench/servers/web-me.mjs)
// runs under `valgrind --tool=callgrind --instr-atstart=no`; it is logged in and warmed up
// uninstrumented, then instrumentation is switched on and the instructions of COUNT requests
// (CONNECTIONS at a time) are counted, every thread included (V8's compiler threads too).
//
// Usage: node bench/count-instructions.mjs [memory|redis] [contender ...]
//   contenders: codegrant (default), peer (default), base (examples/web-app/dist-base)
// Env: CG_WARMUP (requests, default 3000), CG_COUNT (default 1000), CG_CONNECTIONS (default 20)
//   CG_PROFILE=1: no callgrind; each server runs under `node --cpu-prof` instead (the same login
//   and load), its profile written to bench/results/profiles/ for profile-summary.mjs

import { spawn, execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { startServer } from './lib/child.mjs'
import { loginThroughApp } from './lib/login.mjs'
import { startRedis } from './lib/redis.mjs'

const SECRET = 'bench-session-secret-0123456789abcdef-not-a-real-secret'
const storage = process.argv[2] ?? 'redis'
const names = process.argv.length > 3 ? process.argv.slice(3) : ['codegrant', 'peer']
const WARMUP = Number(process.env.CG_WARMUP ?? 3000)
const COUNT = Number(process.env.CG_COUNT ?? 1000)
const CONNECTIONS = Number(process.env.CG_CONNECTIONS ?? 20)
const PROFILE = process.env.CG_PROFILE === '1'
const profileDir = fileURLToPath(new URL('./results/profiles/', import.meta.url))

/**
 * Starts bench/servers/web-me.mjs under callgrind and waits for its `ready` message.
 * @param {Record<string, unknown>} serverConfig
 * @param {string} outFile
 */
async function startUnderCallgrind(serverConfig, outFile) {
  const script = fileURLToPath(new URL('./servers/web-me.mjs', import.meta.url))
  const name = String(serverConfig.contender)
  const [command, args] = PROFILE
    ? [
        process.execPath,
        [
          '--cpu-prof',
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-name=count-${name}-${Date.now()}.cpuprofile`,
          script,
        ],
      ]
    : [
        'valgrind',
        [
          '--tool=callgrind',
          '--instr-atstart=no',
          `--callgrind-out-file=${outFile}`,
          process.execPath,
          script,
        ],
      ]
  const child = spawn(command, /** @type {string[]} */ (args), {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_SERVER_CONFIG: JSON.stringify(serverConfig),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 300_000)
    child.on('message', (/** @type {any} */ msg) => {
      if (msg?.type === 'ready') {
        clearTimeout(timer)
        resolve(Number(msg.port))
      } else if (msg?.type === 'error') reject(new Error(msg.message))
    })
    child.once('exit', (code) => reject(new Error(`server exited (code ${code})`)))
  })
  return { child, url: `http://127.0.0.1:${port}` }
}

/** @param {string} url @param {string} cookie @param {number} amount */
async function load(url, cookie, amount) {
  const result = await autocannon({
    url: `${url}/me`,
    headers: { cookie },
    connections: CONNECTIONS,
    amount,
    timeout: 120,
  })
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`)
  }
}

/**
 * The instructions of V8's optimizing compiler threads in a callgrind output file (inclusive
 * cost of their job runner), which depend on when the compiler happened to run.
 */
function compilerOf(/** @type {string} */ file) {
  const text = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const line = text
    .split('\n')
    .find((l) => l.includes('OptimizingCompileDispatcher::CompileTask::RunInternal'))
  return line === undefined ? 0 : Number(line.trim().split(/\s+/)[0]?.replaceAll(',', ''))
}

/** The total instructions (`summary:` / `totals:` line) of a callgrind output file. */
function totalOf(/** @type {string} */ file) {
  const text = readFileSync(file, 'utf8')
  const line = text.split('\n').find((l) => l.startsWith('summary:') || l.startsWith('totals:'))
  return Number(line?.split(/\s+/)[1])
}

const as = await startServer('local-as', {}, { label: 'local-as' })
const redis = storage === 'redis' ? await startRedis() : undefined
try {
  const { localClients, completeLogin } = await import('@codegrant/local-as')
  const client = localClients.webBasic
  const issuer = typeof as.info.issuer === 'string' ? as.info.issuer : as.url
  for (const name of names) {
    const outFile = join(tmpdir(), `callgrind.${name}.${process.pid}.out`)
    const { child, url } = await startUnderCallgrind(
      {
        contender: name,
        issuer,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        secret: SECRET,
        ...(redis !== undefined ? { redisUrl: redis.url } : {}),
      },
      outFile,
    )
    try {
      const cookie = await loginThroughApp({
        appUrl: url,
        probePath: '/me',
        authenticate: completeLogin,
      })
      await load(url, cookie, WARMUP)
      if (PROFILE) {
        await load(url, cookie, COUNT)
        child.send({ type: 'stop' })
        await new Promise((resolve) => child.once('exit', resolve))
        process.stdout.write(`${storage} ${name}: profile in ${profileDir}\n`)
        continue
      }
      const pid = String(child.pid)
      execFileSync('callgrind_control', ['-i', 'on', pid], { stdio: 'ignore' })
      execFileSync('callgrind_control', ['-z', pid], { stdio: 'ignore' })
      await load(url, cookie, COUNT)
      execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' })
      let total = 0
      let compiler = 0
      for (const file of execFileSync('sh', ['-c', `ls ${outFile}*`], { encoding: 'utf8' })
        .trim()
        .split('\n')) {
        if (!/\.\d+$/.test(file)) continue
        total += totalOf(file)
        compiler += compilerOf(file)
      }
      const k = (/** @type {number} */ n) => `${Math.round(n / COUNT / 1000)}k`
      process.stdout.write(
        `${storage} ${name.padEnd(14)} ${k(total)} instructions / request, ${k(total - compiler)} without the optimizing compiler (${COUNT} requests, ${CONNECTIONS} connections)\n`,
      )
    } finally {
      child.kill('SIGKILL')
      if (process.env.CG_KEEP) process.stderr.write(`kept ${outFile}.*\n`)
      else execFileSync('sh', ['-c', `rm -f ${outFile}*`])
    }
  }
} finally {
  await redis?.stop()
  await as.stop()
}
