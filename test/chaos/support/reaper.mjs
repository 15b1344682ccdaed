#!/usr/bin/env node
// The watchdog of one chaos run. The runner starts it detached (its own session, so a Ctrl-C in the
// terminal does not reach it) and appends every resource it creates to a registry file, one JSON
// line each, synchronously, BEFORE or right after creating it:
//   {"op":"pid","pid":123,"start":"4567"}          a process (pid + start time from /proc, so a reused pid is never killed)
//   {"op":"pg","dataDir":"...","clusterName":"...","pgCtl":"...","asPostgres":true}   a PostgreSQL cluster
//   {"op":"dir","path":"..."}                      a temporary directory
//   {"op":"forget","key":"pid:123" | "pg:<dataDir>" | "dir:<path>"}   released by the runner itself
// When the runner is gone (its stdin pipe closes, or its pid disappears: Ctrl-C, kill -9, a crash,
// a normal end), the reaper kills what is still registered, stops the clusters, removes the
// directories, and exits. It never touches anything that is not in the registry.
//
//   node reaper.mjs <runner-pid> <registry-file> [<runner's-parent-pid>]
// With a parent pid (the runner is a Jest worker): when that parent is gone, the runner is an orphan
// that no one will stop; it is killed first (only if it is still the same process), then the rest.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';

const [runnerPid, registryFile, parentPid] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4] ?? NaN)];
if (!Number.isInteger(runnerPid) || !registryFile) {
  console.error('usage: reaper.mjs <runner-pid> <registry-file>');
  process.exit(2);
}

const log = (msg) => process.stderr.write(`[reaper ${new Date().toISOString()}] ${msg}\n`);

function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

function registered() {
  const resources = new Map();
  if (!existsSync(registryFile)) return resources;
  for (const line of readFileSync(registryFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // a line cut short by a crash
    }
    if (entry.op === 'forget') resources.delete(entry.key);
    else if (entry.op === 'pid') resources.set(`pid:${entry.pid}`, entry);
    else if (entry.op === 'pg') resources.set(`pg:${entry.dataDir}`, entry);
    else if (entry.op === 'dir') resources.set(`dir:${entry.path}`, entry);
  }
  return resources;
}

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

let cleaned = false;
function cleanup(why) {
  if (cleaned) return;
  cleaned = true;
  const resources = [...registered().values()];
  if (resources.length > 0) log(`${why}: cleaning ${resources.length} resource(s)`);
  // 1. processes (a stopped process is continued first, so it can die at once)
  for (const r of resources.filter((x) => x.op === 'pid')) {
    if (startTime(r.pid) !== r.start) continue;
    log(`kill -9 ${r.pid} (${(cmdline(r.pid) ?? '').slice(0, 120)})`);
    kill(r.pid, 'SIGCONT');
    kill(r.pid, 'SIGKILL');
  }
  // 2. PostgreSQL clusters: immediate stop, then any process of that cluster still alive
  for (const r of resources.filter((x) => x.op === 'pg')) {
    if (existsSync(`${r.dataDir}/postmaster.pid`)) {
      const args = [r.pgCtl, '-D', r.dataDir, 'stop', '-m', 'immediate', '-w', '-t', '20'];
      spawnSync(r.asPostgres ? 'runuser' : args[0], r.asPostgres ? ['-u', 'postgres', '--', ...args] : args.slice(1), {
        stdio: 'ignore',
        timeout: 30_000,
      });
    }
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const c = cmdline(Number(name));
      if (
        c &&
        (c.includes(`postgres: ${r.clusterName}:`) || c.includes(`cluster_name=${r.clusterName} `) || c.includes(`-D ${r.dataDir} `))
      ) {
        log(`kill -9 ${name} (${c.slice(0, 120)})`);
        kill(Number(name), 'SIGCONT');
        kill(Number(name), 'SIGKILL');
      }
    }
  }
  // 3. directories
  for (const r of resources.filter((x) => x.op === 'dir')) rmSync(r.path, { recursive: true, force: true });
  rmSync(registryFile, { force: true });
}

function finish(why) {
  cleanup(why);
  process.exit(0);
}

process.on('SIGTERM', () => finish('SIGTERM'));
process.on('SIGINT', () => finish('SIGINT'));
process.on('SIGHUP', () => finish('SIGHUP'));
process.stdin.on('end', () => finish('runner closed the pipe'));
process.stdin.on('error', () => finish('runner pipe error'));
process.stdin.resume();
const runnerStart = startTime(runnerPid);
setInterval(() => {
  try {
    process.kill(runnerPid, 0);
  } catch {
    finish(`runner ${runnerPid} is gone`);
  }
  if (Number.isInteger(parentPid) && parentPid > 1) {
    try {
      process.kill(parentPid, 0);
    } catch {
      if (startTime(runnerPid) === runnerStart) {
        log(`runner's parent ${parentPid} is gone: kill -9 the orphaned runner ${runnerPid}`);
        kill(runnerPid, 'SIGKILL');
      }
      finish(`runner's parent ${parentPid} is gone`);
    }
  }
}, 500);
process.stdout.write('ready\n');
