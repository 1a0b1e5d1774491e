import { startLocalAs } from '@codegrant/local-as'
import { it } from 'vitest'
import { SECURE_COOKIE_NAME, startSecureTestApp } from './fastify-secure-session-harness.js'
import { Agent } from './support/agent.js'

it('probe', async () => {
  const as = await startLocalAs()
  const app = await startSecureTestApp({ as })
  const agent = new Agent(app.url, SECURE_COOKIE_NAME)
  await agent.startLogin('/profile')
  console.log('login-only cookie', agent.sessionCookie()?.length)
  await agent.startLogin('/profile')
  console.log('2 logins cookie', agent.sessionCookie()?.length)
  const cb = await agent.login('/profile')
  console.log(cb.status, cb.location, await cb.text())
  console.log('logged in cookie', agent.sessionCookie()?.length)
  console.log(await agent.json('/me'))
  const t = await agent.json('/token')
  console.log(t.status, String(t.body.access_token).length)
  await app.close()
  await as.close()
})
