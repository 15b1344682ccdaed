// Preloaded into the service by bench/profile.mjs (`node --import`): the first SIGWINCH starts the
// V8 CPU profiler (or, with PROFILE_KIND=heap, V8's sampling heap profiler counting every sampled
// allocation, also those the garbage collector has freed since), the second writes the profile to
// $PROFILE_OUT. So a profile covers the load only, not the start-up. Bench-only: the service itself
// knows nothing of it.
import inspector from 'node:inspector';
import { renameSync, writeFileSync } from 'node:fs';

const session = new inspector.Session();
session.connect();
const heap = process.env.PROFILE_KIND === 'heap';
let running = false;
process.on('SIGWINCH', () => {
  if (!running) {
    running = true;
    if (heap)
      session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    else
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
      );
    return;
  }
  running = false;
  session.post(heap ? 'HeapProfiler.stopSampling' : 'Profiler.stop', (err, result) => {
    if (err) return;
    // written whole, then renamed: whoever waits for PROFILE_OUT never reads a part of it
    writeFileSync(`${process.env.PROFILE_OUT}.part`, JSON.stringify(result.profile));
    renameSync(`${process.env.PROFILE_OUT}.part`, process.env.PROFILE_OUT);
  });
});
