#!/usr/bin/env python3
"""Runs lifeflow-bench only while no other process uses the CPU, and retries a run that
something else disturbed (on a 2-core machine a compile next door halves the figures).

    cargo build --release -p lifeflow-bench
    bench/run-quiet.py --db sqlite --scenario org-list --concurrency 1,32 --no-header

Arguments go to the binary unchanged. LIFEFLOW_BENCH_BIN overrides the binary's path.

Each second it reads the machine's busy CPU time (/proc/stat) and subtracts what the
benchmark, Postgres and this script used (/proc/PID/stat). If the rest (other processes,
short-lived ones included, and kernel threads) exceeds THRESHOLD % of a core over any WINDOW
seconds of the run, the run counts as disturbed and is retried. Before each attempt it waits
for 20 quiet seconds in a row. A kept run reports the largest such remainder it saw. Seconds
in which a process of the benchmark or Postgres exited are skipped (its last CPU time cannot
be attributed).
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
THRESHOLD = 15  # percent of one core, averaged over WINDOW seconds
WINDOW = 3
ATTEMPTS = 30
SELF = os.getpid()


def busy_ticks():
    """Busy CPU ticks of the whole machine so far (all cores)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]


def ignored_ticks():
    """CPU ticks used so far by the benchmark, Postgres and this script, by pid."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
            name = s[s.index("(") + 1 : s.rindex(")")]
            if name.startswith(IGNORE) or int(pid) == SELF:
                fields = s[s.rindex(")") + 2 :].split()
                out[int(pid)] = int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return out


def snapshot():
    # The process scan takes a while under load: read the machine's total on both sides of it.
    before = busy_ticks()
    ignored = ignored_ticks()
    return (before + busy_ticks()) / 2, ignored, time.time()


def other_pct(prev, cur):
    """Percent of one core used between two snapshots by everything not ignored, or None."""
    (b0, ign0, t0), (b1, ign1, t1) = prev, cur
    if any(pid not in ign1 for pid in ign0):
        # An ignored process exited (a Postgres backend, the benchmark at its end): its last
        # ticks are in the machine's total but nowhere else, so this second cannot be judged.
        return None
    ignored = sum(t - ign0.get(pid, 0) for pid, t in ign1.items())
    return max(0.0, (b1 - b0 - ignored) / CLK / max(t1 - t0, 1e-3) * 100)


def sample_forever():
    """Yields, every second, the percent of a core others used over the last WINDOW seconds."""
    prev = snapshot()
    recent = []
    while True:
        time.sleep(1)
        cur = snapshot()
        pct = other_pct(prev, cur)
        prev = cur
        if pct is not None:
            recent = (recent + [pct])[-WINDOW:]
        yield sum(recent) / len(recent) if recent else 0.0


def wait_quiet(need=20):
    quiet = 0
    for pct in sample_forever():
        quiet = 0 if pct > THRESHOLD else quiet + 1
        if quiet >= need:
            return


def main():
    args = sys.argv[1:]
    for attempt in range(1, ATTEMPTS + 1):
        wait_quiet()
        p = subprocess.Popen([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        worst = 0.0
        samples = sample_forever()
        while p.poll() is None:
            worst = max(worst, next(samples))
        out, err = p.communicate()
        if worst > THRESHOLD:
            print(f"attempt {attempt}: other processes used up to {worst:.0f}% of a core; retrying",
                  file=sys.stderr, flush=True)
            continue
        sys.stderr.write(err)
        print(out, end="", flush=True)
        print(f"undisturbed on attempt {attempt} (others used at most {worst:.0f}% of a core)",
              file=sys.stderr, flush=True)
        return p.returncode
    print(f"no undisturbed run in {ATTEMPTS} attempts", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
