/** How long one health indicator may take before it reports "down" (database ping, migrations). */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

/** `promise`, or a rejection after `ms` (the promise itself is left to settle on its own). */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
