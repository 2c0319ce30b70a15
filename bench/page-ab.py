#!/usr/bin/env python3
"""A/B of the blood-request page (issue 14's side-by-side page) between LifeFlow builds or
settings, in one sitting: the cost per page a busy machine disturbs least.

    bench/page-ab.py --variant before=/tmp/lifeflow-before \\
                     --variant after=target/release/lifeflow \\
                     --variant after-pool=target/release/lifeflow:DB_ONE_CONNECTION_PER_QUERY=false

Seeds one Postgres database (`seed --scale`, with the first variant's binary), starts every
variant on it at once (production settings as bench/side-by-side.sh starts LifeFlow, one
signing key, so one login serves them all), then runs wrk against one variant at a time,
alternating (the order rotates every round). For each run: requests per second, p50/p99,
and CPU time per page of the server process and of the database's Postgres backends
(utime+stime from /proc over the run, divided by the requests answered), and the CPU other
processes took meanwhile. Prints markdown on stdout; drops the database on exit.
"""
import base64
import argparse
import atexit
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "side-by-side"))
import measure  # noqa: E402  (the page, wrk's script and the /proc readers)



def log(*a):
    print(*a, file=sys.stderr, flush=True)


def psql(url, sql, out=False):
    r = subprocess.run(["psql", url, "-qAt", "-c", sql], check=True,
                       capture_output=True, text=True)
    return r.stdout.strip() if out else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", action="append", required=True,
                    help="LABEL=BINARY[:NAME=VALUE,NAME=VALUE] (repeat)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--concurrency", default="16,1")
    ap.add_argument("--scale", type=int, default=200)
    ap.add_argument("--admin-url", default=os.environ.get(
        "SBS_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--json-out")
    ap.add_argument("--reuse-db", help="an already seeded database to use (kept on exit)")
    a = ap.parse_args()

    variants = []
    for v in a.variant:
        label, rest = v.split("=", 1)
        binary, _, envs = rest.partition(":")
        env = dict(kv.split("=", 1) for kv in envs.split(",") if kv)
        variants.append({"label": label, "bin": os.path.abspath(binary), "env": env})

    work = subprocess.run(["mktemp", "-d", "/tmp/lifeflow-page-ab.XXXXXX"],
                          capture_output=True, text=True, check=True).stdout.strip()
    db = a.reuse_db or f"lifeflow_pageab_{os.getpid()}"
    base = a.admin_url.rsplit("/", 1)[0] + "/"
    db_url = base + db
    procs = []

    def cleanup():
        measure.stop(procs)
        if not a.reuse_db:
            subprocess.run(["psql", a.admin_url, "-q", "-c",
                            f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", work])

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    # Field encryption: the seed and the production servers share keys (production refuses
    # to start without them). With --reuse-db, pass the keys the database was seeded with.
    os.environ.setdefault("ENCRYPTION_KEYS", "b1:" + base64.b64encode(os.urandom(32)).decode())
    os.environ.setdefault("BLIND_INDEX_KEY", base64.b64encode(os.urandom(32)).decode())
    if not a.reuse_db:
        log(f"database {db}: seed --scale {a.scale}")
        psql(a.admin_url, f"CREATE DATABASE {db}")
        subprocess.run([variants[0]["bin"], "seed", "--scale", str(a.scale)], cwd=work,
                       check=True, env=dict(os.environ, DATABASE_URL=db_url,
                                            APP_ENV="development", RUST_LOG="warn"),
                       stdout=sys.stderr)
        psql(db_url, "VACUUM ANALYZE")

    secret = secrets.token_hex(32)
    for v in variants:
        p, v["url"] = measure.serve(v["bin"], db_url, secret, work, v["label"], v["env"])
        procs.append(p)
        v["pid"] = p.pid

    login = ('mutation { login(input: {email: "scale-h-00000@scale.example", '
             'password: "scale-benchmark-password"}) { accessToken } }')
    data, _ = measure.post(variants[0]["url"], {"query": login})
    token = data["data"]["login"]["accessToken"]
    body = os.path.join(work, "page.json")
    with open(body, "w") as f:
        json.dump({"query": measure.LIFEFLOW_PAGE}, f)

    reference = None
    for v in variants:
        rows, _ = measure.rows_of_lifeflow(v["url"], token)
        if len(rows) != 50 or (reference is not None and rows != reference):
            raise SystemExit(f"{v['label']} answers another page ({len(rows)} rows)")
        reference = rows

    bench = measure.Bench(argparse.Namespace(pids=",".join(str(v["pid"]) for v in variants),
                                             admin_url=a.admin_url, db=db))

    def run(v, conns, duration):
        return bench.cpu_run(v["label"], v["pid"], v["url"], body, token, conns, duration)

    log(f"warm-up: {a.warmup} s each at 16 connections")
    for v in variants:
        run(v, 16, a.warmup)

    concs = [int(c) for c in a.concurrency.split(",")]
    runs = []
    for rnd in range(a.rounds):
        log(f"round {rnd + 1} of {a.rounds}")
        order = variants[rnd % len(variants):] + variants[:rnd % len(variants)]
        for c in concs:
            for v in order:
                r = run(v, c, a.duration)
                runs.append(dict(r, label=v["label"], conns=c, round=rnd + 1))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(runs, f, indent=1)

    def med(xs):
        return statistics.median(xs) if xs else float("nan")

    print(f"{a.rounds} round(s) of {a.duration} s per run, variants alternating; medians "
          f"over the rounds (server and Postgres: CPU time per page, utime+stime).")
    print()
    print("| variant | conns | req/s | p50 ms | p99 ms | server CPU ms/page | Postgres CPU ms/page "
          "| SQL/req | others % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in concs:
        for v in variants:
            rs = [r for r in runs if r["label"] == v["label"] and r["conns"] == c]
            sql = sorted({int(r["sql_min"]) for r in rs} | {int(r["sql_max"]) for r in rs})
            print(f"| {v['label']} | {c} | {med([r['rps'] for r in rs]):,.0f} | "
                  f"{med([r['p50_us'] for r in rs]) / 1000:.2f} | "
                  f"{med([r['p99_us'] for r in rs]) / 1000:.2f} | "
                  f"{med([r['server_ms'] for r in rs]):.3f} | {med([r['pg_ms'] for r in rs]):.3f} | "
                  f"{'–'.join(map(str, sql))} | {med([r['others_pct'] for r in rs]):.0f} |")
    print()
    print("Every run:")
    print()
    print("| round | variant | conns | req/s | p50 ms | p99 ms | server ms/page | Postgres ms/page | others % |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['round']} | {r['label']} | {r['conns']} | {r['rps']:,.0f} | "
              f"{r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | {r['server_ms']:.3f} | "
              f"{r['pg_ms']:.3f} | {r['others_pct']:.0f} |")


if __name__ == "__main__":
    main()
