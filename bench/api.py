"""REST API benchmark.

GET /pulp/api/v3/content/file/files/?limit=100 over 10,000 content rows, authenticated, with wrk
at 32 connections, next to the same server's /pulp/api/v3/livez/ in the same run (the anchor:
what the server does with no database work). Prints, last:
BENCH api list_rps=... livez_rps=... ratio=... p99_ms=... idle_rss_mb=...
"""
import base64
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import ADMIN_PASSWORD, API, PulpSystem  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "10000"))
DURATION = os.environ.get("BENCH_DURATION", "10s")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def seed(system, rows):
    # Rows go straight into Postgres: the benchmark measures listing, not 10,000 uploads.
    domain = system.pg.psql("SELECT pulp_id FROM core_domain WHERE name = 'default'", db="pulp")
    system.pg.psql(f"""
      WITH a AS (
        INSERT INTO core_artifact (pulp_id, pulp_domain_id, file, size, sha224, sha256, sha384, sha512)
        SELECT gen_random_uuid(), '{domain}', 'artifact/' || md5(i::text), 4096,
               md5(i::text), md5(i::text) || md5(i::text), md5(i::text) || 'x', md5(i::text) || 'y'
        FROM generate_series(1, {rows}) i RETURNING pulp_id, sha256),
      c AS (
        INSERT INTO core_content (pulp_id, pulp_domain_id, pulp_type)
        SELECT gen_random_uuid(), '{domain}', 'file.file' FROM generate_series(1, {rows})
        RETURNING pulp_id),
      pairs AS (
        SELECT a.pulp_id AS artifact_id, a.sha256, c.pulp_id AS content_id, row_number() OVER () AS n
        FROM (SELECT *, row_number() OVER () AS rn FROM a) a
        JOIN (SELECT *, row_number() OVER () AS rn FROM c) c ON a.rn = c.rn),
      f AS (
        INSERT INTO file_filecontent (content_ptr_id, relative_path, digest, pulp_domain_id)
        SELECT content_id, 'dir/file-' || n || '.bin', sha256, '{domain}' FROM pairs)
      INSERT INTO core_contentartifact (pulp_id, content_id, artifact_id, relative_path)
      SELECT gen_random_uuid(), content_id, artifact_id, 'dir/file-' || n || '.bin' FROM pairs
    """, db="pulp")
    system.pg.psql("ANALYZE", db="pulp")


def wrk(url, auth_header):
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{DURATION}", "--latency", "-H", auth_header, url],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise SystemExit(f"wrk saw {non2xx.group(1)} error responses for {url}")
    return rps, p99, out


def main():
    system = PulpSystem().start()
    try:
        pid = system.api_proc.pid
        seed(system, ROWS)
        count = system.get(API + "content/file/files/?limit=1").json["count"]
        assert count == ROWS, count
        time.sleep(1)
        idle = rss_mb(pid)
        auth = "Authorization: Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        base = f"http://127.0.0.1:{system.api_port}{API}"
        livez_rps, livez_p99, _ = wrk(base + "livez/", auth)
        list_rps, list_p99, out = wrk(base + "content/file/files/?limit=100", auth)
        print(out)
        print(f"livez: {livez_rps:.0f} req/s (p99 {livez_p99:.2f} ms)")
        print(f"list:  {list_rps:.0f} req/s (p99 {list_p99:.2f} ms), {ROWS} rows, limit=100")
        print(f"API RSS idle {idle:.1f} MB, after load {rss_mb(pid):.1f} MB")
        print(f"BENCH api list_rps={list_rps:.0f} livez_rps={livez_rps:.0f} "
              f"ratio={list_rps / livez_rps:.3f} p99_ms={list_p99:.2f} idle_rss_mb={idle:.1f}")
    finally:
        system.stop()


if __name__ == "__main__":
    main()
