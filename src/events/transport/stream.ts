import { type JetStreamManager, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { streamSubjects } from './subjects.js';

/** SPEC: duplicate window 2 minutes (a relay retry inside it never yields a second copy). */
export const DUPLICATE_WINDOW_MS = 120_000;

const isStreamNotFound = (err: unknown): boolean => err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;

/**
 * Creates the stream if it is missing (subjects `<prefix>.>`, duplicate window 2 min); an existing
 * stream is never reconfigured. Returns true when this call created it. Safe when several replicas
 * race: "already in use" from a concurrent create counts as present.
 */
export async function ensureStream(jsm: JetStreamManager, name: string, prefix: string): Promise<boolean> {
  try {
    await jsm.streams.info(name);
    return false;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  try {
    await jsm.streams.add({ name, subjects: [streamSubjects(prefix)], duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
    return true;
  } catch (err) {
    // another replica created it in between
    await jsm.streams.info(name);
    void err;
    return false;
  }
}
