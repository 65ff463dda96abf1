"""Tasking benchmark. `--mode distributed` (default) or `--mode classic`.

(a) deferred no-op tasks dispatched over REST by 8 concurrent clients, completed by 2 workers,
    each task in its own child process; tasks/s from first dispatch to last completion;
(a') the same with immediate tasks (run inside the API when their resources are free);
(b) dispatch-to-running latency on an idle system (started_at - pulp_created);
(c) pgbench -N on the same Postgres, 8 clients, in the same run: the anchor.
Last line: BENCH tasks deferred_tasks_per_s=... immediate_tasks_per_s=... ratio_to_pgbench=...
dispatch_p50_ms=... dispatch_p99_ms=...

Classic mode (two resource managers route the tasks): (b) and (a) as above, then the same
deferred run in distributed mode as the anchor, then a failover run: 1000 tasks, the active
manager killed with SIGKILL a third of the way in; failover_s is the time from the kill until a
task starts under the new leader; lost and duplicated runs are counted from the tasks' own
record of each run.
Last line: BENCH tasks mode=classic deferred_tasks_per_s=... ratio_to_pgbench=...
dispatch_p50_ms=... failover_s=... lost_tasks=... duplicate_runs=... distributed_tasks_per_s=...
"""
import collections
import signal
import tempfile
import base64
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import ADMIN_PASSWORD, API, PGBIN, PulpSystem  # noqa: E402

TASKS = int(os.environ.get("BENCH_TASKS", "2000"))
CLIENTS = 8


def ts(s):
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in s else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.strptime(s, fmt).replace(tzinfo=timezone.utc).timestamp()


def dispatch_many(system, n, body):
    """n POSTs to tasks/test/ from CLIENTS keep-alive connections; returns task hrefs."""
    auth = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    payload = json.dumps(body)
    hrefs = []
    lock = threading.Lock()

    def client(count):
        conn = http.client.HTTPConnection("127.0.0.1", system.api_port, timeout=60)
        mine = []
        for _ in range(count):
            conn.request("POST", API + "tasks/test/", body=payload,
                         headers={"Authorization": auth, "Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            assert r.status == 202, data
            mine.append(json.loads(data)["task"])
        conn.close()
        with lock:
            hrefs.extend(mine)

    threads = [threading.Thread(target=client, args=(n // CLIENTS,)) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return hrefs


def wait_all_done(system, since_count):
    while True:
        out = system.pg.psql("SELECT count(*) FROM core_task WHERE state IN ('waiting','running')",
                             db="pulp")
        if int(out) == 0:
            return
        time.sleep(0.02)


def pgbench(system, clients):
    port = str(system.pg.port)
    base = [f"{PGBIN}/pgbench", "-h", "127.0.0.1", "-p", port, "-U", "postgres"]
    system.pg.psql("CREATE DATABASE bench")
    subprocess.run(base + ["-i", "-q", "-s", "1", "bench"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run(base + ["-N", "-c", str(clients), "-j", "2", "-T", "10", "bench"],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def start_system(classic):
    # fsync stays on (the harness turns it off for tests): tasks and pgbench pay the same commits.
    system = PulpSystem(workers=2, classic=classic)
    system.pg.pg_ctl = _pg_ctl_fsync_on(system.pg)
    return system.start()


def latency(system):
    """Dispatch-to-running on an idle system, one task at a time: (p50, p99) in ms."""
    latencies = []
    for _ in range(100):
        href = system.post(API + "tasks/test/", {}).json["task"]
        t = system.wait_task(href)
        latencies.append((ts(t["started_at"]) - ts(t["pulp_created"])) * 1000)
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


def deferred_rate(system):
    t0 = time.time()
    hrefs = dispatch_many(system, TASKS, {})
    dispatched = time.time() - t0
    wait_all_done(system, 0)
    rate = len(hrefs) / (time.time() - t0)
    failed = system.pg.psql("SELECT count(*) FROM core_task WHERE state <> 'completed'", db="pulp")
    assert failed == "0", f"{failed} tasks did not complete"
    return rate, dispatched


def failover_run(system, count=1000):
    """Kills the active manager under load: (failover_s, lost, duplicates)."""
    record = tempfile.mktemp(prefix="pulp-bench-failover-")
    term_before = int(system.pg.psql("SELECT term FROM core_resourcemanager", db="pulp"))
    active = [p for p in system.resource_managers() if "active (term" in open(p.log_path).read()][0]
    body = {"record_to": record}
    hrefs = dispatch_many(system, count // 3, body)
    active.send_signal(signal.SIGKILL)
    killed = time.time()
    hrefs += dispatch_many(system, count - len(hrefs), body)
    while True:
        row = system.pg.psql("SELECT term FROM core_resourcemanager", db="pulp")
        if int(row) > term_before:
            break
        time.sleep(0.01)
    while True:
        first = system.pg.psql(
            "SELECT extract(epoch FROM min(started_at)) FROM core_task WHERE assigned_term = "
            f"{term_before + 1}", db="pulp")
        if first:
            break
        time.sleep(0.01)
    failover = float(first) - killed
    deadline = time.time() + 300
    while time.time() < deadline:
        left = system.pg.psql("SELECT count(*) FROM core_task WHERE state IN ('waiting','running')",
                              db="pulp")
        if left == "0":
            break
        time.sleep(0.05)
    with open(record) as f:
        runs = collections.Counter(f.read().split())
    os.unlink(record)
    ids = {h.rstrip("/").split("/")[-1] for h in hrefs}
    completed = set(system.pg.psql(
        "SELECT pulp_id FROM core_task WHERE state = 'completed'", db="pulp").split())
    lost = len(ids - completed) + len(ids - set(runs))
    duplicates = sum(n - 1 for n in runs.values() if n > 1)
    return failover, lost, duplicates


def main():
    mode = "distributed"
    if "--mode" in sys.argv:
        mode = sys.argv[sys.argv.index("--mode") + 1]
    if mode not in ("distributed", "classic"):
        raise SystemExit("--mode is distributed or classic")
    if mode == "classic":
        return main_classic()
    system = start_system(classic=False)
    try:
        p50, p99 = latency(system)
        deferred, dispatched = deferred_rate(system)

        # (a') immediate throughput.
        t0 = time.time()
        ihrefs = dispatch_many(system, TASKS, {"immediate": True})
        wait_all_done(system, 0)
        immediate = len(ihrefs) / (time.time() - t0)

        tps = pgbench(system, CLIENTS)
        print(f"dispatch latency on idle system: p50 {p50:.2f} ms, p99 {p99:.2f} ms (100 tasks)")
        print(f"deferred: {TASKS} tasks by {CLIENTS} clients, 2 workers: {deferred:.0f} tasks/s "
              f"(dispatch alone took {dispatched:.2f} s)")
        print(f"immediate: {len(ihrefs)} tasks: {immediate:.0f} tasks/s")
        print(f"pgbench -N -c {CLIENTS}: {tps:.0f} tps")
        print(f"BENCH tasks deferred_tasks_per_s={deferred:.0f} immediate_tasks_per_s={immediate:.0f} "
              f"ratio_to_pgbench={deferred / tps:.3f} dispatch_p50_ms={p50:.2f} dispatch_p99_ms={p99:.2f}")
    finally:
        system.stop()


def main_classic():
    system = start_system(classic=True)
    try:
        p50, p99 = latency(system)
        deferred, dispatched = deferred_rate(system)
        failover, lost, duplicates = failover_run(system)
        tps = pgbench(system, CLIENTS)
    finally:
        system.stop()
    anchor = start_system(classic=False)
    try:
        distributed, _ = deferred_rate(anchor)
    finally:
        anchor.stop()
    print(f"classic: dispatch latency on idle system: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"classic: {TASKS} tasks by {CLIENTS} clients, 2 workers: {deferred:.0f} tasks/s "
          f"(dispatch alone took {dispatched:.2f} s); distributed, same load: {distributed:.0f}")
    print(f"failover: kill -9 of the active manager under load; a task started under the new "
          f"leader {failover:.2f} s later; lost {lost}, run twice {duplicates}")
    print(f"pgbench -N -c {CLIENTS}: {tps:.0f} tps")
    print(f"BENCH tasks mode=classic deferred_tasks_per_s={deferred:.0f} "
          f"ratio_to_pgbench={deferred / tps:.3f} dispatch_p50_ms={p50:.2f} "
          f"failover_s={failover:.2f} lost_tasks={lost} duplicate_runs={duplicates} "
          f"distributed_tasks_per_s={distributed:.0f}")


def _pg_ctl_fsync_on(pg):
    original = pg.pg_ctl

    def pg_ctl(action):
        if action != "start":
            return original(action)
        opts = f"-p {pg.port} -k {pg.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        pg._run(f"{PGBIN}/pg_ctl", "-D", pg.data, "-w", "-l", os.path.join(pg.dir, "log"),
                "-o", opts, "start")
    return pg_ctl


if __name__ == "__main__":
    main()
