#!/usr/bin/env python3
"""Runs lifeflow-bench only while no other process uses the CPU, and retries a run that
something else disturbed (on a 2-core machine a compile next door halves the figures).

    cargo build --release -p lifeflow-bench
    bench/run-quiet.py --db sqlite --scenario org-list --concurrency 1,32 --no-header

Arguments go to the binary unchanged. LIFEFLOW_BENCH_BIN overrides the binary's path.
A process other than the benchmark itself and Postgres that uses more than 8 % of a core
during any one-second interval of the run makes the run count as disturbed; before each
attempt the script waits for 20 quiet seconds in a row.
"""
import os
import subprocess
import sys
import time

BIN = os.environ.get(
    "LIFEFLOW_BENCH_BIN",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "lifeflow-bench"),
)
CLK = os.sysconf("SC_CLK_TCK")
IGNORE = ("lifeflow-bench", "postgres", "run-quiet")
THRESHOLD = 8  # percent of one core
ATTEMPTS = 30


def snapshot():
    """CPU ticks used so far by every process, by pid."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
            name = s[s.index("(") + 1 : s.rindex(")")]
            fields = s[s.rindex(")") + 2 :].split()
            out[int(pid)] = (name, int(fields[11]) + int(fields[12]))
        except (OSError, ValueError, IndexError):
            pass
    return out


def busy(prev, cur, dt):
    """Other processes that used more than THRESHOLD between two snapshots."""
    hits = []
    for pid, (name, ticks) in cur.items():
        if name.startswith(IGNORE) or pid not in prev:
            continue
        pct = (ticks - prev[pid][1]) / CLK / dt * 100
        if pct > THRESHOLD:
            hits.append(f"{name}({pid}) {pct:.0f}%")
    return hits


def wait_quiet(need=20):
    quiet = 0
    prev, t0 = snapshot(), time.time()
    while quiet < need:
        time.sleep(1)
        cur, t1 = snapshot(), time.time()
        quiet = 0 if busy(prev, cur, t1 - t0) else quiet + 1
        prev, t0 = cur, t1


def main():
    args = sys.argv[1:]
    for attempt in range(1, ATTEMPTS + 1):
        wait_quiet()
        p = subprocess.Popen([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []
        prev, t0 = snapshot(), time.time()
        while p.poll() is None:
            time.sleep(1)
            cur, t1 = snapshot(), time.time()
            seen += busy(prev, cur, t1 - t0)
            prev, t0 = cur, t1
        out, err = p.communicate()
        if seen:
            print(f"attempt {attempt}: disturbed by {seen[:5]}; retrying", file=sys.stderr, flush=True)
            continue
        sys.stderr.write(err)
        print(out, end="", flush=True)
        print(f"undisturbed on attempt {attempt}", file=sys.stderr, flush=True)
        return p.returncode
    print(f"no undisturbed run in {ATTEMPTS} attempts", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
