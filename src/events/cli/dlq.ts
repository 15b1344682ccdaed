/**
 * `npm run events:dlq -- list` / `npm run events:dlq -- replay <seq>` (after `npm run build`).
 * Reads the same environment as the service (NATS_URL, EVENTS_STREAM, EVENTS_SUBJECT_PREFIX,
 * SERVICE_NAME); prints JSON lines.
 */
import { pathToFileURL } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadConfig } from '../../config/app-config.js';
import { listDeadLetters, replayDeadLetter } from '../transport/dead-letter.js';

const USAGE = 'usage: npm run events:dlq -- list | replay <seq> [<seq>...]';

export async function runDlqCommand(argv: string[], env: Record<string, string | undefined>, out: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'list' && command !== 'replay') {
    out(USAGE);
    return 2;
  }
  const seqs = rest.map(Number);
  if (command === 'replay' && (seqs.length === 0 || seqs.some((n) => !Number.isSafeInteger(n) || n <= 0))) {
    out(USAGE);
    return 2;
  }
  const config = loadConfig(env);
  if (!config.nats.url) {
    out(JSON.stringify({ error: 'NATS_URL=off: no event bus to inspect' }));
    return 1;
  }
  const nc = await connect({ servers: config.nats.url.split(','), timeout: 5000, name: 'product-service-dlq' });
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const { stream, subjectPrefix } = config.nats;
    if (command === 'list') {
      const letters = await listDeadLetters(js, jsm, stream, subjectPrefix, config.serviceName);
      for (const l of letters) {
        out(
          JSON.stringify({
            seq: l.seq,
            subject: l.subject,
            type: l.type,
            reason: l.reason,
            error: l.error,
            event_id: l.event_id,
            original_subject: l.original_subject,
            original_stream_seq: l.original_stream_seq,
            deliveries: l.deliveries,
            failed_at: l.failed_at,
            payload: l.payload,
            ...(l.payload_encoding ? { payload_encoding: l.payload_encoding } : {}),
            ...(l.payload_omitted ? { payload_omitted: true, payload_bytes: l.payload_bytes } : {}),
          }),
        );
      }
      out(JSON.stringify({ dead_letters: letters.length, stream }));
      return 0;
    }
    let failures = 0;
    for (const seq of seqs) {
      try {
        const result = await replayDeadLetter(js, jsm, stream, subjectPrefix, seq);
        out(
          JSON.stringify({
            replayed: seq,
            to: result.subject,
            event_id: result.event_id,
            new_seq: result.seq,
            duplicate: result.duplicate,
          }),
        );
      } catch (err) {
        failures++;
        out(JSON.stringify({ replayed: seq, error: err instanceof Error ? err.message : String(err) }));
      }
    }
    return failures > 0 ? 1 : 0;
  } finally {
    await nc.drain().catch(() => undefined);
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  runDlqCommand(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
      process.exit(1);
    },
  );
}
