#!/usr/bin/env python3
"""What field decryption costs on the two pages that decrypt most (issue 17), A/B between
LifeFlow builds in one sitting:

    bench/sealed-ab.py --variant before=/tmp/lifeflow-before \\
                       --variant after=target/release/lifeflow

- `requests`: a hospital admin's `bloodRequests(first: 50)` with `patientName` and
  `medicalNotes` (two sealed values per row) and the hospital, bank and requester;
- `donors`: a blood bank admin's `donors(first: 50)` with `dateOfBirth`, `phone` and
  `address` (three sealed values per row).

A build from before field encryption cannot read rows another build sealed, so every variant
gets its own Postgres database with the same data written through its own API: a super
admin (`create-admin`), an approved hospital and blood bank, 50 requests with a patient name
and clinical notes, 50 donors registered by the bank. The script checks that every variant
answers the same pages (ids aside), then runs wrk on one variant and page at a time, the
order rotating every round, and reports requests per second, p50/p99 and the CPU time per
page of the server process and of its database's Postgres backends (utime+stime from /proc,
divided by the answers). Needs Postgres on 127.0.0.1:5432, wrk and psql; drops its
databases on exit.
"""
import argparse
import atexit
import base64
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "side-by-side"))
import measure  # noqa: E402  (post, wrk, the /proc readers)

PASSWORD = "sealed-benchmark-password"
NOTES = ("Post-partum haemorrhage, Hb 6.1 g/dL after two units; cross-matched, no "
         "antibodies detected. Consultant on call informed; keep two more units on hold "
         "until the evening review.")
PAGES = {
    "requests": "{ bloodRequests(first: 50) { edges { node { id urgency status patientName "
                "medicalNotes hospital { name } bloodBank { name } requestedBy { fullName } } } } }",
    "donors": "{ donors(first: 50) { edges { node { id fullName bloodGroup dateOfBirth phone "
              "address city } } } }",
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def psql(url, sql):
    subprocess.run(["psql", url, "-qAt", "-c", sql], check=True, capture_output=True, text=True)


def gql(url, query, variables=None, token=None):
    data, _ = measure.post(url, {"query": query, "variables": variables or {}}, token)
    if data.get("errors"):
        raise SystemExit(f"{query[:60]}...: {data['errors']}")
    return data["data"]


def login(url, email):
    q = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }"
    return gql(url, q, {"i": {"email": email, "password": PASSWORD}})["login"]["accessToken"]


def organization(url, admin, email, code, kind):
    gql(url, "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
        {"i": {"email": email, "password": PASSWORD, "fullName": f"{kind.title()} Admin"}})
    token = login(url, email)
    org = gql(url, "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) "
                   "{ organization { id } } }",
              {"i": {"code": code, "name": f"Bench {kind.title()}", "kind": kind,
                     "city": "Bengaluru", "country": "IN", "latitude": 12.97,
                     "longitude": 77.59}}, token)["registerOrganization"]["organization"]["id"]
    gql(url, "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) "
             "{ organization { id } } }", {"i": {"organizationId": org}}, admin)
    # Memberships are read at login on some builds: sign in again after the approval.
    return org, login(url, email)


def populate(url, admin_email):
    """The data set, written through the variant's own API (so sealed by it, or not)."""
    admin = login(url, admin_email)
    hospital, h_token = organization(url, admin, "h@sealed.example", "SEALH", "HOSPITAL")
    bank, b_token = organization(url, admin, "b@sealed.example", "SEALB", "BLOOD_BANK")
    create = ("mutation($i: CreateBloodRequestInput!) { createBloodRequest(input: $i) "
              "{ bloodRequest { id } } }")
    for i in range(50):
        gql(url, create, {"i": {
            "hospitalId": hospital, "patientReference": f"MRN-{i:07d}",
            "patientName": f"Patient Number {i:04d}", "bloodGroup": "A_POS",
            "component": "RED_CELLS", "unitsRequired": 1, "urgency": "ROUTINE",
            "neededBy": "2099-01-01T00:00:00Z", "medicalNotes": NOTES,
            "bloodBankId": bank}}, h_token)
    register = "mutation($i: RegisterDonorInput!) { registerDonor(input: $i) { donor { id } } }"
    for i in range(50):
        gql(url, register, {"i": {
            "organizationId": bank, "fullName": f"Donor Number {i:04d}",
            "dateOfBirth": "1988-03-14", "bloodGroup": "O_POS", "weightKg": 70.0,
            "phone": f"+9198450{i:05d}", "address": f"{i} 11th Main Road, Jayanagar 4th Block",
            "city": "Bengaluru"}}, b_token)
    return {"requests": h_token, "donors": b_token}


def content(url, page, token):
    """The page without its ids (each variant has its own database)."""
    data = gql(url, PAGES[page], token=token)
    edges = next(iter(data.values()))["edges"]
    if len(edges) != 50:
        raise SystemExit(f"{url} {page}: {len(edges)} rows")
    return sorted(json.dumps({k: v for k, v in e["node"].items() if k != "id"}, sort_keys=True)
                  for e in edges)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", action="append", required=True,
                    help="LABEL=BINARY[:NAME=VALUE,NAME=VALUE] (repeat)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--concurrency", default="16,1")
    ap.add_argument("--pages", default="requests,donors")
    ap.add_argument("--admin-url", default=os.environ.get(
        "SBS_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--json-out")
    a = ap.parse_args()
    pages = a.pages.split(",")

    variants = []
    for n, v in enumerate(a.variant):
        label, rest = v.split("=", 1)
        binary, _, envs = rest.partition(":")
        env = dict(kv.split("=", 1) for kv in envs.split(",") if kv)
        variants.append({"label": label, "bin": os.path.abspath(binary), "env": env,
                         "db": f"lifeflow_sealedab_{os.getpid()}_{n}"})

    work = subprocess.run(["mktemp", "-d", "/tmp/lifeflow-sealed-ab.XXXXXX"],
                          capture_output=True, text=True, check=True).stdout.strip()
    base = a.admin_url.rsplit("/", 1)[0] + "/"
    procs = []

    def cleanup():
        measure.stop(procs)
        for v in variants:
            subprocess.run(["psql", a.admin_url, "-q", "-c",
                            f"DROP DATABASE IF EXISTS {v['db']} WITH (FORCE)"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.environ.get("SEALED_AB_KEEP"):
            log(f"logs kept in {work}")
        else:
            subprocess.run(["rm", "-rf", work])

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    secret = secrets.token_hex(32)
    keys = {"ENCRYPTION_KEYS": "b1:" + base64.b64encode(os.urandom(32)).decode(),
            "BLIND_INDEX_KEY": base64.b64encode(os.urandom(32)).decode()}
    admin_email = "admin@sealed.example"
    for v in variants:
        db_url = base + v["db"]
        psql(a.admin_url, f"CREATE DATABASE {v['db']}")
        env = dict(os.environ, **keys, DATABASE_URL=db_url, APP_ENV="development",
                   RUST_LOG="warn")
        subprocess.run([v["bin"], "migrate"], cwd=work, check=True, env=env,
                       stdout=sys.stderr)
        subprocess.run([v["bin"], "create-admin", "--email", admin_email, "--password",
                        PASSWORD, "--name", "Bench Admin"], cwd=work, check=True, env=env,
                       stdout=sys.stderr)
        p, v["url"] = measure.serve(v["bin"], db_url, secret, work, v["label"],
                                    dict(keys, MFA_REQUIRED_ROLES="", **v["env"]))
        procs.append(p)
        v["pid"] = p.pid
        log(f"  database {v['db']}")
        t0 = time.monotonic()
        v["tokens"] = populate(v["url"], admin_email)
        psql(db_url, "VACUUM ANALYZE")
        log(f"  populated in {time.monotonic() - t0:.1f} s")
        v["bench"] = measure.Bench(argparse.Namespace(pids=str(p.pid), admin_url=a.admin_url,
                                                      db=v["db"]))

    for page in pages:
        ref = None
        for v in variants:
            c = content(v["url"], page, v["tokens"][page])
            if ref is not None and c != ref:
                raise SystemExit(f"{v['label']} answers another {page} page")
            ref = c
        with open(os.path.join(work, f"{page}.json"), "w") as f:
            json.dump({"query": PAGES[page]}, f)

    def run(v, page, conns, duration):
        return v["bench"].cpu_run(f"{v['label']} {page}", v["pid"], v["url"],
                                  os.path.join(work, f"{page}.json"), v["tokens"][page],
                                  conns, duration)

    log(f"warm-up: {a.warmup} s each at 16 connections")
    for page in pages:
        for v in variants:
            run(v, page, 16, a.warmup)

    concs = [int(c) for c in a.concurrency.split(",")]
    runs = []
    for rnd in range(a.rounds):
        log(f"round {rnd + 1} of {a.rounds}")
        order = variants[rnd % len(variants):] + variants[:rnd % len(variants)]
        for page in pages:
            for c in concs:
                for v in order:
                    r = run(v, page, c, a.duration)
                    runs.append(dict(r, label=v["label"], page=page, conns=c, round=rnd + 1))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(runs, f, indent=1)

    def med(xs):
        return statistics.median(xs) if xs else float("nan")

    print(f"{a.rounds} round(s) of {a.duration} s per run, variants alternating; medians over "
          f"the rounds (server and Postgres: CPU time per page, utime+stime).")
    print()
    print("| page | variant | conns | req/s | p50 ms | p99 ms | server CPU ms/page "
          "| Postgres CPU ms/page | SQL/req | others % |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for page in pages:
        for c in concs:
            for v in variants:
                rs = [r for r in runs
                      if r["label"] == v["label"] and r["conns"] == c and r["page"] == page]
                sql = sorted({int(r["sql_min"]) for r in rs} | {int(r["sql_max"]) for r in rs})
                print(f"| {page} | {v['label']} | {c} | {med([r['rps'] for r in rs]):,.0f} | "
                      f"{med([r['p50_us'] for r in rs]) / 1000:.2f} | "
                      f"{med([r['p99_us'] for r in rs]) / 1000:.2f} | "
                      f"{med([r['server_ms'] for r in rs]):.3f} | "
                      f"{med([r['pg_ms'] for r in rs]):.3f} | {'–'.join(map(str, sql))} | "
                      f"{med([r['others_pct'] for r in rs]):.0f} |")


if __name__ == "__main__":
    main()
