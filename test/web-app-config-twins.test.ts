// examples/web-app and examples/fastify-web-app each carry their own config.ts (each example reads
// as a standalone sample): the same environment must give the same settings and the same errors.
import { describe, expect, it } from 'vitest'
import { loadConfig as loadExpressConfig } from '../examples/web-app/src/config.js'
import { loadConfig as loadFastifyConfig } from '../examples/fastify-web-app/src/config.js'

const base = { ISSUER_URL: 'https://idp.example.com', CLIENT_ID: 'app', CLIENT_SECRET: 's' }
const cases: Array<[string, Record<string, string>]> = [
  ['defaults', base],
  [
    'everything set',
    {
      ...base,
      PORT: '8080',
      BASE_URL: 'https://app.example.com/',
      CLIENT_AUTH_METHOD: 'client_secret_jwt',
      CLIENT_ASSERTION_AUDIENCE: 'token_endpoint',
      SCOPE: 'openid email',
      API_URL: 'http://localhost:4000/',
      API_AUDIENCE: 'urn:api',
      SESSION_SECRET: 'short',
      REDIS_URL: 'redis://127.0.0.1:6379',
    },
  ],
  ['no ISSUER_URL', { CLIENT_ID: 'x' }],
  ['plain-http issuer', { ...base, ISSUER_URL: 'http://idp.example.com' }],
  ['loopback http issuer', { ...base, ISSUER_URL: 'http://127.0.0.1:3001' }],
  ['bad PORT', { ...base, PORT: '70000' }],
  ['bad method', { ...base, CLIENT_AUTH_METHOD: 'basic' }],
  ['bad assertion audience', { ...base, CLIENT_ASSERTION_AUDIENCE: 'aud' }],
  ['scope without openid', { ...base, SCOPE: 'email' }],
  ['production without secret', { ...base, NODE_ENV: 'production' }],
  ['bad REDIS_URL', { ...base, REDIS_URL: 'http://redis' }],
  ['private_key_jwt without a key', { ...base, CLIENT_AUTH_METHOD: 'private_key_jwt' }],
]

const outcome = (load: typeof loadExpressConfig, env: Record<string, string>) => {
  try {
    return { config: load(env) }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

describe('the two examples read the environment alike', () => {
  it.each(cases)('%s', (_name, env) => {
    const express = outcome(loadExpressConfig, env)
    expect(outcome(loadFastifyConfig, env)).toEqual(express)
  })
})
