// A free loopback TCP port, for servers and child processes that need a port number up front.
import { createServer, type AddressInfo } from 'node:net'

/** A port that was free on 127.0.0.1 a moment ago (the OS picked it, then it was released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}
