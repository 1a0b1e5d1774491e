import { afterEach, describe, expect, it, vi } from 'vitest'
import { SingleFlight } from '../src/single-flight.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('SingleFlight', () => {
  it('shares one run between concurrent callers', async () => {
    let runs = 0
    let release!: (value: number) => void
    const flight = new SingleFlight(
      () => {
        runs++
        return new Promise<number>((resolve) => (release = resolve))
      },
      { first: 1000, max: 30_000 },
    )
    const a = flight.run()
    const b = flight.run()
    expect(flight.inflight).toBe(a)
    expect(b).toBe(a)
    release(42)
    expect(await Promise.all([a, b])).toEqual([42, 42])
    expect(runs).toBe(1)
    expect(flight.inflight).toBeUndefined()
    const again = flight.run()
    release(7)
    expect(await again).toBe(7)
    expect(runs).toBe(2)
  })

  it('cools down after a failure, doubling from first to max, and resets on success', async () => {
    vi.useFakeTimers({ now: 0 })
    let fail = true
    const flight = new SingleFlight(
      () => (fail ? Promise.reject(new Error('down')) : Promise.resolve('up')),
      { first: 1000, max: 3000 },
    )
    const delays: number[] = []
    for (let i = 0; i < 4; i++) {
      await expect(flight.run()).rejects.toThrow('down')
      const start = Date.now()
      while (flight.coolingDown) vi.advanceTimersByTime(100)
      delays.push(Date.now() - start)
    }
    expect(delays).toEqual([1000, 2000, 3000, 3000])
    expect((flight.lastError as Error).message).toBe('down')

    fail = false
    expect(await flight.run()).toBe('up')
    expect(flight.coolingDown).toBe(false)
    fail = true
    await expect(flight.run()).rejects.toThrow('down')
    const start = Date.now()
    while (flight.coolingDown) vi.advanceTimersByTime(100)
    expect(Date.now() - start).toBe(1000)
  })

  it('is not cooling down while a run is under way', async () => {
    vi.useFakeTimers({ now: 0 })
    let reject!: (err: Error) => void
    const flight = new SingleFlight(() => new Promise<void>((_, r) => (reject = r)), {
      first: 1000,
      max: 1000,
    })
    const first = flight.run()
    reject(new Error('x'))
    await expect(first).rejects.toThrow('x')
    expect(flight.coolingDown).toBe(true)
    const second = flight.run() // a caller may start a run during the cool-down
    expect(flight.coolingDown).toBe(false)
    reject(new Error('y'))
    await expect(second).rejects.toThrow('y')
  })
})
