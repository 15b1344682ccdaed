/**
 * Reloads of an in-memory snapshot, coalesced: one load at a time, and while one runs, at most one
 * more queued behind it and shared by every caller meanwhile. `run()` resolves once a load that
 * started after the call has finished (so a writer that calls it after its commit reads its write).
 */
export class CoalescedRefresh {
  private loading?: Promise<void>;
  private queued?: Promise<void>;

  constructor(private readonly load: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.queued) return this.queued;
    if (this.loading) {
      this.queued = this.loading.then(() => {
        this.queued = undefined;
        return this.run();
      });
      return this.queued;
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }
}
