#!/usr/bin/python3
"""Wall-clock timings of circulate's read commands on an instance made by bench/cli_fixture.sh.

Usage: cli_timings.py CIRCULATE_BINARY FOLDER [--runs 7] [--limit-ms 100] [--with-daemon] [--json]

Runs each command once to warm the page cache, then --runs times, with its output read through a pipe as a script
would; prints the median, the fastest and the slowest (and the median CPU time, user + system), and PASS or FAIL against the limit (the throughput goal: each
at most 100 ms on 10,000 members and 100,000 messages). Exits 1 if any command fails the limit or exits non-zero.
The figures depend on the machine and on what else runs on it: compare runs made one after the other.

With --with-daemon, `circulate serve` runs in FOLDER meanwhile, as on a real instance (the fixture leaves nothing due,
so it only waits). Without a daemon, each command is the database's only user: opening it then writes (GRDB makes sure
the write-ahead log exists) and closing it checkpoints and deletes the log, which costs every command some time.
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = [
    ("member list", ["member", "list"]),
    ("member show", ["member", "show", "member1000@example.org"]),
    ("queue status", ["queue", "status"]),
    ("session show", ["session", "show", "1"]),
    ("report status", ["report", "status", "1"]),
]


def timed(binary, folder, args):
    """Wall-clock and CPU (user + system) milliseconds of one run. CPU time is steadier on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([binary] + args, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"circulate {' '.join(args)} exited {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return elapsed, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("folder")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--limit-ms", type=float, default=100.0)
    parser.add_argument("--with-daemon", action="store_true", help="run `circulate serve` in FOLDER meanwhile")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()

    daemon = None
    if options.with_daemon:
        # Alone first: a binary newer than the folder's database migrates it here, not in a race with the daemon.
        timed(options.binary, options.folder, ["queue", "status"])
        daemon = subprocess.Popen([options.binary, "serve"], cwd=options.folder, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        # Ready once `queue status` says it runs (it holds the instance lock by then).
        for _ in range(300):
            status = subprocess.run([options.binary, "queue", "status"], cwd=options.folder, capture_output=True, text=True)
            if "daemon running" in status.stdout:
                break
            time.sleep(0.1)
        else:
            daemon.terminate()
            raise SystemExit("circulate serve did not start; run it by hand in the folder to see why")
    try:
        return measure(options)
    finally:
        if daemon:
            daemon.send_signal(15)
            daemon.wait(timeout=30)


def measure(options):
    results = []
    for name, args in COMMANDS:
        timed(options.binary, options.folder, args)
        runs = [timed(options.binary, options.folder, args) for _ in range(options.runs)]
        wall = [w for w, _ in runs]
        median = statistics.median(wall)
        results.append({"command": name, "median_ms": round(median, 1), "min_ms": round(min(wall), 1),
                        "max_ms": round(max(wall), 1), "cpu_median_ms": round(statistics.median(c for _, c in runs), 1),
                        "pass": median <= options.limit_ms})
    if options.json:
        print(json.dumps({"limit_ms": options.limit_ms, "runs": options.runs, "commands": results}, indent=2))
    else:
        for r in results:
            verdict = "PASS" if r["pass"] else "FAIL"
            print(f"{r['command']:<14} median {r['median_ms']:7.1f} ms  (min {r['min_ms']:.1f}, max {r['max_ms']:.1f}; "
                  f"CPU {r['cpu_median_ms']:.1f})  {verdict} <= {options.limit_ms:g} ms")
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
