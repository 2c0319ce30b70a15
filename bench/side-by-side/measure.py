#!/usr/bin/env python3
"""The measuring half of bench/side-by-side.sh (which starts and stops everything).

Given a running LifeFlow and a running PostGraphile 5 on the same seeded database, it checks
that both answer the same 50 rows in the same order, warms both up, runs wrk alternately
against the two (rounds of 16, 64 and 1 connections, the side going first swapped every
round), then `{ __typename }` and `{ me { id } }` on LifeFlow, and prints the markdown
tables. Every run also reports how much CPU processes other than the two servers, their
Postgres backends and wrk used meanwhile ("others"), so a disturbed run can be seen.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

CLK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))

LIFEFLOW_PAGE = (
    "{ bloodRequests(first: 50) { edges { node { id urgency status "
    "hospital { name } bloodBank { name } requestedBy { fullName } } } } }"
)
# PostGraphile's names for the same page: the list of the table (its `id` is the global node
# id, the column is `rowId`), the hospital as a condition
# (LifeFlow's hospital admin sees exactly the hospital's requests), the order LifeFlow uses by
# default (urgency rank, then id) and each relation through its foreign key.
POSTGRAPHILE_PAGE = (
    "query($h: UUID!) { allBloodRequests(first: 50, condition: {hospitalId: $h}, "
    "orderBy: [URGENCY_RANK_ASC, PRIMARY_KEY_ASC]) { edges { node { rowId urgency status "
    "organizationByHospitalId { name } organizationByBloodBankId { name } "
    "userByRequestedByUserId { fullName } } } } }"
)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def post(url, body, token=None):
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read()), dict(r.headers)


def rows_of_lifeflow(url, token):
    data, headers = post(url, {"query": LIFEFLOW_PAGE}, token)
    if data.get("errors"):
        raise SystemExit(f"LifeFlow page failed: {data['errors']}")
    out = []
    for e in data["data"]["bloodRequests"]["edges"]:
        n = e["node"]
        out.append((
            n["id"], n["urgency"], n["status"],
            (n["hospital"] or {}).get("name"),
            (n["bloodBank"] or {}).get("name"),
            (n["requestedBy"] or {}).get("fullName"),
        ))
    return out, headers


def rows_of_postgraphile(url, hospital):
    data, _ = post(url, {"query": POSTGRAPHILE_PAGE, "variables": {"h": hospital}})
    if data.get("errors"):
        raise SystemExit(f"PostGraphile page failed: {data['errors']}")
    out = []
    for e in data["data"]["allBloodRequests"]["edges"]:
        n = e["node"]
        out.append((
            n["rowId"], n["urgency"], n["status"],
            (n["organizationByHospitalId"] or {}).get("name"),
            (n["organizationByBloodBankId"] or {}).get("name"),
            (n["userByRequestedByUserId"] or {}).get("fullName"),
        ))
    return out


def ticks_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])
    except (OSError, IndexError, ValueError):
        return None


def busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Bench:
    def __init__(self, a):
        self.a = a
        self.server_pids = [int(p) for p in a.pids.split(",")]

    def backend_pids(self):
        """The Postgres backends serving the benchmark's database right now."""
        out = subprocess.run(
            ["psql", self.a.admin_url, "-At", "-c",
             f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.a.db}'"],
            capture_output=True, text=True, check=False,
        ).stdout
        return [int(x) for x in out.split() if x.strip().isdigit()]

    def ours(self, pids):
        return {p: ticks_of(p) for p in pids}

    def wrk(self, url, body_file, token, conns, duration):
        env = dict(os.environ, SBS_BODY=body_file, SBS_TOKEN=token or "")
        threads = 1 if conns == 1 else 2
        cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "10s",
               "-s", os.path.join(HERE, "graphql.lua"), url]
        pids_before = self.server_pids + self.backend_pids()
        t0 = self.ours(pids_before)
        b0 = busy_ticks()
        started = time.monotonic()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate()
        elapsed = time.monotonic() - started
        b1 = busy_ticks()
        pids_after = set(pids_before) | set(self.backend_pids())
        t1 = self.ours(pids_after)
        ours = 0
        for pid in pids_after:
            after = t1.get(pid)
            if after is None:
                continue
            ours += after - (t0.get(pid) or 0)
        if p.returncode != 0:
            raise SystemExit(f"wrk failed ({p.returncode}): {err}\n{out}")
        line = next((ln for ln in out.splitlines() if ln.startswith("SBS ")), None)
        if line is None:
            raise SystemExit(f"wrk printed no result:\n{out}\n{err}")
        r = {}
        for kv in line.split()[1:]:
            k, v = kv.split("=", 1)
            r[k] = float(v)
        first_error = next((ln for ln in out.splitlines() if ln.startswith("SBS_FIRST_ERROR")), None)
        r["first_error"] = first_error
        r["wall"] = elapsed
        r["busy"] = (b1 - b0) / CLK
        r["ours"] = ours / CLK
        return r

    def finish_others(self, r, rusage_before):
        ru = os.times()
        wrk_cpu = (ru.children_user + ru.children_system) - rusage_before
        r["wrk_cpu"] = wrk_cpu
        # Share of one core used by everything else during the run.
        r["others_pct"] = max(0.0, (r["busy"] - r["ours"] - wrk_cpu) / r["wall"] * 100)
        return r

    def run(self, label, url, body_file, token, conns, duration):
        # The children's CPU time grows by each reaped child: the difference is this wrk's
        # (and the psql calls', which are negligible).
        before = os.times()
        rusage_before = before.children_user + before.children_system
        r = self.wrk(url, body_file, token, conns, duration)
        self.finish_others(r, rusage_before)
        errors = int(r["gql_errors"] + r["bad_status"] + r["sock_errors"])
        sql = (f"SQL {int(r['sql_min'])}..{int(r['sql_max'])} mean {r['sql_mean']:.2f}"
               if r["sql_n"] > 0 else "")
        log(f"  {label:<14} c={conns:<3} {r['rps']:8.1f} req/s  p50 {r['p50_us']/1000:7.2f} ms  "
            f"p99 {r['p99_us']/1000:8.2f} ms  errors {errors}  others {r['others_pct']:.0f}% {sql}")
        if errors:
            raise SystemExit(f"{label} at {conns} connections: {errors} failed requests; "
                             f"first: {r['first_error']}")
        return r

    def cpu_run(self, label, pid, url, body_file, token, conns, duration):
        """One wrk run against the server `pid`, with its CPU time per answer and that of
        this database's Postgres backends (utime+stime from /proc over the run)."""
        server0 = ticks_of(pid)
        backends0 = {p: ticks_of(p) for p in self.backend_pids()}
        before = os.times()
        r = self.wrk(url, body_file, token, conns, duration)
        self.finish_others(r, before.children_user + before.children_system)
        server1 = ticks_of(pid)
        backends = 0
        for p in set(backends0) | set(self.backend_pids()):
            t = ticks_of(p)
            if t is not None:
                backends += t - (backends0.get(p) or 0)
        n = max(1.0, r["requests"])
        r["server_ms"] = (server1 - server0) / CLK * 1000 / n
        r["pg_ms"] = backends / CLK * 1000 / n
        errors = int(r["gql_errors"] + r["bad_status"] + r["sock_errors"])
        if errors:
            raise SystemExit(f"{label}: {errors} failed requests; first: {r['first_error']}")
        log(f"  {label:<20} c={conns:<3} {r['rps']:8.1f} req/s  p50 {r['p50_us'] / 1000:6.2f} ms"
            f"  p99 {r['p99_us'] / 1000:7.2f} ms  server {r['server_ms']:.3f} ms/page"
            f"  postgres {r['pg_ms']:.3f} ms/page  SQL {int(r['sql_min'])}..{int(r['sql_max'])}"
            f"  others {r['others_pct']:.0f}%")
        return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(binary, db_url, secret, work, label, extra_env):
    """Starts `binary serve` with the production settings the A/B scripts compare under
    (one signing key, so one login serves every variant), logging to `work/label.log`, and
    waits for its first answer. Returns the process and its GraphQL URL."""
    port = free_port()
    env = dict(os.environ, APP_ENV="production", JWT_SECRET=secret, DATABASE_URL=db_url,
               HOST="127.0.0.1", PORT=str(port), EXPOSE_SQL_COUNT="true",
               ACCESS_TOKEN_TTL_SECS="7200", MALLOC_ARENA_MAX="2", RUST_LOG="warn")
    env.update(extra_env)
    logf = open(os.path.join(work, f"{label}.log"), "wb")
    p = subprocess.Popen([binary, "serve"], cwd=work, env=env, stdout=logf, stderr=logf)
    url = f"http://127.0.0.1:{port}/graphql"
    for _ in range(600):
        if p.poll() is not None:
            raise SystemExit(f"{label} exited before answering; see {work}/{label}.log")
        try:
            post(url, {"query": "{ __typename }"})
            log(f"{label}: {binary} {extra_env or ''} on port {port} (pid {p.pid})")
            return p, url
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise SystemExit(f"{label} did not answer in 60 s")


def stop(procs):
    """SIGTERM, then SIGKILL whatever has not exited after 10 s."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()

def med(values):
    return statistics.median(values) if values else float("nan")


def fmt_int(x):
    return f"{x:,.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifeflow", required=True, help="LifeFlow's /graphql URL")
    ap.add_argument("--postgraphile", required=True, help="PostGraphile's /graphql URL")
    ap.add_argument("--token", required=True)
    ap.add_argument("--hospital", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--pids", required=True, help="LifeFlow's pid,PostGraphile's pid")
    ap.add_argument("--db", required=True)
    ap.add_argument("--admin-url", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", default="16,64,1")
    ap.add_argument("--json-out", help="write every run's figures here")
    a = ap.parse_args()
    b = Bench(a)
    lf_pid, pg_pid = b.server_pids

    bodies = {}
    for name, body in {
        "lf-page": {"query": LIFEFLOW_PAGE},
        "pg-page": {"query": POSTGRAPHILE_PAGE, "variables": {"h": a.hospital}},
        "typename": {"query": "{ __typename }"},
        "me": {"query": "{ me { id } }"},
    }.items():
        path = os.path.join(a.work, f"{name}.json")
        with open(path, "w") as f:
            json.dump(body, f)
        bodies[name] = path

    # Same rows, same order, same relations.
    lf_rows, lf_headers = rows_of_lifeflow(a.lifeflow, a.token)
    pg_rows = rows_of_postgraphile(a.postgraphile, a.hospital)
    if len(lf_rows) != 50 or lf_rows != pg_rows:
        for i, (x, y) in enumerate(zip(lf_rows, pg_rows)):
            if x != y:
                log(f"row {i}: LifeFlow {x} / PostGraphile {y}")
                break
        raise SystemExit(f"the two pages differ (LifeFlow {len(lf_rows)} rows, PostGraphile {len(pg_rows)})")
    with_bank = sum(1 for r in lf_rows if r[4] is not None)
    with_user = sum(1 for r in lf_rows if r[5] is not None)
    check = (f"Both answer the same 50 rows in the same order, field for field (id, urgency, "
             f"status, hospital name, bank name, requester name): {with_bank} of them with an "
             f"accepting bank, {with_user} with a requesting user.")
    log(check)

    rss = {"start": (rss_kib(lf_pid), rss_kib(pg_pid))}

    log(f"warm-up: {a.warmup} s each at 16 connections")
    b.run("LifeFlow", a.lifeflow, bodies["lf-page"], a.token, 16, a.warmup)
    b.run("PostGraphile", a.postgraphile, bodies["pg-page"], None, 16, a.warmup)
    b.run("__typename", a.lifeflow, bodies["typename"], None, 16, max(1, a.warmup // 2))
    b.run("me", a.lifeflow, bodies["me"], a.token, 16, max(1, a.warmup // 2))

    concs = [int(c) for c in a.concurrency.split(",")]
    runs = []
    for rnd in range(1, a.rounds + 1):
        log(f"round {rnd} of {a.rounds}, {a.duration} s per run")
        sides = [("LifeFlow", a.lifeflow, bodies["lf-page"], a.token),
                 ("PostGraphile", a.postgraphile, bodies["pg-page"], None)]
        if rnd % 2 == 0:
            sides.reverse()
        for c in concs:
            for label, url, body, token in sides:
                r = b.run(label, url, body, token, c, a.duration)
                runs.append(dict(r, target=label, conns=c, round=rnd))
        for label, body, token in (("__typename", "typename", None), ("me", "me", a.token)):
            r = b.run(label, a.lifeflow, bodies[body], token, 16, a.duration)
            runs.append(dict(r, target=label, conns=16, round=rnd))

    time.sleep(2)
    rss["after"] = (rss_kib(lf_pid), rss_kib(pg_pid))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"runs": runs, "rss_kib": rss, "check": check}, f, indent=1)

    def pick(target, c):
        return [r for r in runs if r["target"] == target and r["conns"] == c]

    out = []
    out.append(f"{a.rounds} round(s), {a.duration} s per run after {a.warmup} s of warm-up; "
               "medians over the rounds (every run is listed below).")
    out.append("")
    out.append("| | LifeFlow | PostGraphile 5 | ratio |")
    out.append("|---|---:|---:|---:|")
    for c in concs:
        lf, pg = pick("LifeFlow", c), pick("PostGraphile", c)
        lf_rps, pg_rps = med([r["rps"] for r in lf]), med([r["rps"] for r in pg])
        lf_p99, pg_p99 = med([r["p99_us"] for r in lf]) / 1000, med([r["p99_us"] for r in pg]) / 1000
        if c == 1:
            lf_ms, pg_ms = med([r["mean_us"] for r in lf]) / 1000, med([r["mean_us"] for r in pg]) / 1000
            out.append(f"| 1 connection | {lf_ms:.2f} ms per page (p99 {lf_p99:.2f} ms) | "
                       f"{pg_ms:.2f} ms per page (p99 {pg_p99:.2f} ms) | {pg_ms / lf_ms:.2f}× |")
        else:
            out.append(f"| {c} connections | {fmt_int(lf_rps)} req/s, p99 {lf_p99:.1f} ms | "
                       f"{fmt_int(pg_rps)} req/s, p99 {pg_p99:.1f} ms | {lf_rps / pg_rps:.2f}× |")
    out.append("")
    out.append("Ratio: LifeFlow's requests per second over PostGraphile's; at 1 connection "
               "PostGraphile's time per page over LifeFlow's (above 1: LifeFlow is faster).")
    out.append("")
    tn, me = pick("__typename", 16), pick("me", 16)
    tn_rps, me_rps = med([r["rps"] for r in tn]), med([r["rps"] for r in me])
    out.append("| LifeFlow, 16 connections | req/s | p99 ms | SQL statements per request |")
    out.append("|---|---:|---:|---:|")
    for label, rs in (("`{ __typename }` (no token)", tn), ("`{ me { id } }` (token)", me)):
        sql = sorted({int(r["sql_min"]) for r in rs} | {int(r["sql_max"]) for r in rs})
        out.append(f"| {label} | {fmt_int(med([r['rps'] for r in rs]))} | "
                   f"{med([r['p99_us'] for r in rs]) / 1000:.2f} | "
                   f"{'–'.join(str(s) for s in sql)} |")
    out.append("")
    out.append(f"`me` runs at {me_rps / tn_rps:.2f} of `__typename`'s rate.")
    out.append("")
    out.append("SQL statements per request of the LifeFlow page (`x-sql-statements`, every response):")
    out.append("")
    out.append("| connections | responses | min | max | mean |")
    out.append("|---:|---:|---:|---:|---:|")
    for c in concs:
        lf = pick("LifeFlow", c)
        n = sum(r["sql_n"] for r in lf)
        mean = sum(r["sql_mean"] * r["sql_n"] for r in lf) / n if n else float("nan")
        out.append(f"| {c} | {fmt_int(n)} | {min(int(r['sql_min']) for r in lf)} | "
                   f"{max(int(r['sql_max']) for r in lf)} | {mean:.2f} |")
    out.append("")
    out.append("Resident memory (VmRSS):")
    out.append("")
    out.append("| | LifeFlow | PostGraphile 5 (node) |")
    out.append("|---|---:|---:|")
    for k, label in (("start", "idle after start, a login and the two check pages"),
                     ("after", "idle after the benchmark (2 s after the last run)")):
        lf, pg = rss[k]
        out.append(f"| {label} | {lf / 1024:.1f} MiB | {pg / 1024:.1f} MiB |")
    out.append("")
    out.append(check)
    out.append("")
    out.append("Every run (others: CPU used meanwhile by processes other than the two servers, "
               "their Postgres backends and wrk, in % of one core; above ~15 % the run was disturbed):")
    out.append("")
    out.append("| round | target | conns | requests | req/s | mean ms | p50 ms | p99 ms | max ms | SQL/req | others |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        sql = (f"{int(r['sql_min'])}–{int(r['sql_max'])}" if r["sql_min"] != r["sql_max"]
               else f"{int(r['sql_min'])}") if r["sql_n"] > 0 else "–"
        out.append(f"| {r['round']} | {r['target']} | {r['conns']} | {fmt_int(r['requests'])} | "
                   f"{r['rps']:,.0f} | {r['mean_us'] / 1000:.2f} | {r['p50_us'] / 1000:.2f} | "
                   f"{r['p99_us'] / 1000:.2f} | {r['max_us'] / 1000:.2f} | {sql} | "
                   f"{r['others_pct']:.0f} % |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
