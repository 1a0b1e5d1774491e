/** Retry delays of a {@link SingleFlight}: `first` ms, doubling up to `max` ms. */
export interface Backoff {
  /** The delay after the first failure, in milliseconds. */
  readonly first: number
  /** The longest delay, in milliseconds. */
  readonly max: number
}

/**
 * Runs `load` one at a time: a caller that comes while a run is under way shares its promise.
 * After a failure, {@link coolingDown} stays true for a backoff (`first` ms, doubling up to
 * `max` ms) so callers can answer from {@link lastError} without a new run; a success resets
 * it. Callers decide what a cool-down means (fail fast, or keep serving the last good value).
 */
export class SingleFlight<T> {
  private running: Promise<T> | undefined
  private retryAt = 0
  private delay = 0
  private error: unknown

  /**
   * @param load the work to share; it is never run twice at once
   * @param backoff the delays after consecutive failures
   */
  constructor(
    private readonly load: () => Promise<T>,
    private readonly backoff: Backoff,
  ) {}

  /** The run under way, if any. */
  get inflight(): Promise<T> | undefined {
    return this.running
  }

  /** True when the last run failed less than the current backoff ago and none is running. */
  get coolingDown(): boolean {
    return this.running === undefined && Date.now() < this.retryAt
  }

  /** The error of the last failed run (kept after a success, for diagnostics). */
  get lastError(): unknown {
    return this.error
  }

  /** Joins the run under way, or starts one (whether or not the backoff has passed). */
  run(): Promise<T> {
    if (this.running !== undefined) return this.running
    const running = this.load().then(
      (value) => {
        this.running = undefined
        this.delay = 0
        this.retryAt = 0
        return value
      },
      (err: unknown) => {
        this.running = undefined
        this.error = err
        this.delay = Math.min(Math.max(this.delay * 2, this.backoff.first), this.backoff.max)
        this.retryAt = Date.now() + this.delay
        throw err
      },
    )
    this.running = running
    return running
  }
}
