// Preloaded into the service by bench/profile.mjs (`node --import`): the first SIGWINCH starts the
// V8 CPU profiler, the second writes the profile to $PROFILE_OUT. So a profile covers the load
// only, not the start-up. Bench-only: the service itself knows nothing of it.
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';

const session = new inspector.Session();
session.connect();
let running = false;
process.on('SIGWINCH', () => {
  if (!running) {
    running = true;
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
    );
    return;
  }
  running = false;
  session.post('Profiler.stop', (err, result) => {
    if (!err) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(result.profile));
  });
});
