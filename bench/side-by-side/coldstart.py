#!/usr/bin/env python3
"""Cold start, for bench/side-by-side.sh --cold-start: the time from exec to the first
successful answer of `GET /healthz`, then of a GraphQL `{ __typename }`, with the server's
default settings (development, no Redis) on SQLite and on Postgres, started both as the built
binary and as `cargo run --release` (the binary already built, so cargo only checks that it
is fresh). A new SQLite file or a new Postgres database means the migrations run at start;
"migrated" means a second start on the same database. Each start runs in its own process
group, which is killed once measured.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_ok(port, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", path)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def typename_ok(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("POST", "/graphql", body=json.dumps({"query": "{ __typename }"}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status == 200 and b'"__typename"' in body


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def psql(admin_url, sql):
    subprocess.run(["psql", admin_url, "-q", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def start_once(cmd, db_url, work, log_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("APP_ENV", "JWT_SECRET", "REDIS_URL", "RUST_LOG", "LOG_FORMAT",
                        "EXPOSE_SQL_COUNT", "METRICS_ADDR", "ENCRYPTION_KEYS",
                        "BLIND_INDEX_KEY")}
    env.update(DATABASE_URL=db_url, PORT=str(port), HOST="127.0.0.1")
    with open(log_path, "ab") as logf:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, cwd=work, env=env, stdout=logf, stderr=logf,
                             start_new_session=True)
        try:
            while not get_ok(port, "/healthz"):
                if p.poll() is not None:
                    raise SystemExit(f"{' '.join(cmd)} exited ({p.returncode}); see {log_path}")
                if time.monotonic() - t0 > 120:
                    raise SystemExit(f"{' '.join(cmd)} did not answer in 120 s; see {log_path}")
                time.sleep(0.002)
            t1 = time.monotonic()
            if not typename_ok(port):
                raise SystemExit(f"{{ __typename }} failed; see {log_path}")
            t2 = time.monotonic()
            time.sleep(1)
            rss = rss_kib(p.pid) if cmd[0] != "cargo" else None
            return t1 - t0, t2 - t0, rss
        finally:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--root", required=True, help="the workspace, for cargo run")
    ap.add_argument("--work", required=True)
    ap.add_argument("--admin-url", required=True)
    ap.add_argument("--pg-base", required=True, help="postgres://…/ without a database name")
    ap.add_argument("--db", required=True, help="name prefix of the databases to create")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()

    launchers = [
        ("binary", [a.bin]),
        ("`cargo run --release`", ["cargo", "run", "--release", "-q", "--manifest-path",
                                    os.path.join(a.root, "Cargo.toml"), "-p", "lifeflow-api"]),
    ]
    made = []
    results = []
    log_path = os.path.join(a.work, "coldstart.log")
    # "Built" means what `cargo run --release -p lifeflow-api` would run is fresh. A build of
    # several packages at once (`cargo build --release -p lifeflow-api -p lifeflow-bench`, as
    # the 13e63c3 sitting did) unifies their dependencies' features: the bench's reqwest turns
    # on hyper's `client` and tower-http's `follow-redirect`, so hyper, axum, tower-http and
    # lifeflow itself are other artifacts than the ones `cargo run -p lifeflow-api` wants. Its
    # first timed start then recompiled them for minutes and hit the 120 s limit below: the
    # failure at the end of that sitting. So bring it up to date first, untimed.
    log("  cargo build --release -p lifeflow-api (untimed, so cargo run only checks freshness)")
    subprocess.run(["cargo", "build", "--release", "-q", "--manifest-path",
                    os.path.join(a.root, "Cargo.toml"), "-p", "lifeflow-api"],
                   check=True, stdout=sys.stderr)
    try:
        for launcher, cmd in launchers:
            for rep in range(a.reps):
                sqlite = os.path.join(a.work, f"cold-{len(results)}.db")
                url = f"sqlite://{sqlite}?mode=rwc"
                pg = f"{a.db}_cold{len(made)}"
                psql(a.admin_url, f"CREATE DATABASE {pg}")
                made.append(pg)
                pg_url = f"{a.pg_base}{pg}"
                for db_label, db_url in (
                    ("SQLite, new file (migrations run)", url),
                    ("SQLite, migrated", url),
                    ("Postgres, new database (migrations run)", pg_url),
                    ("Postgres, migrated", pg_url),
                ):
                    healthz, gql, rss = start_once(cmd, db_url, a.work, log_path)
                    results.append((launcher, db_label, healthz, gql, rss))
                    log(f"  {launcher:<22} {db_label:<40} /healthz {healthz * 1000:7.1f} ms  "
                        f"graphql {gql * 1000:7.1f} ms" + (f"  RSS {rss / 1024:.1f} MiB" if rss else ""))
                psql(a.admin_url, f"DROP DATABASE IF EXISTS {pg} WITH (FORCE)")
                made.remove(pg)
    finally:
        for pg in made:
            psql(a.admin_url, f"DROP DATABASE IF EXISTS {pg} WITH (FORCE)")

    print(f"Cold start: exec to the first answer, {a.reps} start(s) each, median (min–max); "
          "development defaults, no Redis; RSS 1 s after the first answer, idle.")
    print()
    print("| started as | database | first `/healthz` 200 | first `{ __typename }` | idle RSS |")
    print("|---|---|---:|---:|---:|")
    seen = []
    for launcher, db_label, *_ in results:
        if (launcher, db_label) not in seen:
            seen.append((launcher, db_label))
    for launcher, db_label in seen:
        rs = [r for r in results if r[0] == launcher and r[1] == db_label]
        h = [r[2] * 1000 for r in rs]
        g = [r[3] * 1000 for r in rs]
        rss = [r[4] for r in rs if r[4]]
        rss_s = f"{statistics.median(rss) / 1024:.1f} MiB" if rss else "–"
        print(f"| {launcher} | {db_label} | {statistics.median(h):.0f} ms ({min(h):.0f}–{max(h):.0f}) "
              f"| {statistics.median(g):.0f} ms | {rss_s} |")


if __name__ == "__main__":
    main()
