"""Content app benchmark.

One 4 KiB and one 1 MiB file are uploaded into a repository, published and distributed; wrk
(32 connections, BENCH_DURATION each) fetches them from pulp-content, then from nginx serving
the same bytes from disk with sendfile (the anchor), in the same run.
Last line: BENCH content rps_4k=... nginx_rps_4k=... ratio_4k=... mbps_1m=... nginx_mbps_1m=...
ratio_1m=... rss_mb=...
"""
import os
import re
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import API, PulpSystem  # noqa: E402
from nginx import Nginx  # noqa: E402

DURATION = os.environ.get("BENCH_DURATION", "10s")


LOGS = []


def wrk(url):
    run = subprocess.run(["wrk", "-t2", "-c32", f"-d{DURATION}", url],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = run.stdout
    if run.returncode != 0:
        tails = "".join(open(p).read()[-3000:] for p in LOGS)
        raise SystemExit(f"wrk failed on {url}:\n{out}\n{tails}")
    if "Non-2xx" in out:
        raise SystemExit(f"errors from {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out)
    mbps = float(m.group(1)) * {"B": 1e-6, "KB": 1.024e-3, "MB": 1.048576, "GB": 1073.741824}[m.group(2)]
    return rps, mbps


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    system = PulpSystem()
    system.start()
    content = system.start_content()
    LOGS.append(content.log_path)
    nginx = Nginx()
    try:
        files = {"small.bin": os.urandom(4096), "large.bin": os.urandom(1 << 20)}
        repo = system.post(API + "repositories/file/file/", {"name": "bench-" + uuid.uuid4().hex[:6]}).json
        for path, data in files.items():
            system.upload_into(repo["pulp_href"], path, data)
            nginx.write(path, data)
        pub = system.wait_task(system.post(API + "publications/file/file/",
                                           {"repository": repo["pulp_href"]}).json["task"])
        system.wait_task(system.post(API + "distributions/file/file/",
                                     {"name": "bench", "base_path": "bench",
                                      "publication": pub["created_resources"][0]}).json["task"])
        nginx.start()
        base = f"http://127.0.0.1:{system.content_port}/pulp/content/bench/"
        rps_4k, _ = wrk(base + "small.bin")
        _, mbps_1m = wrk(base + "large.bin")
        if content.poll() is not None:
            with open(content.log_path) as f:
                raise SystemExit(f"pulp-content died ({content.returncode}):\n{f.read()[-3000:]}")
        rss = rss_mb(content.pid)
        nginx_rps_4k, _ = wrk(nginx.url("small.bin"))
        _, nginx_mbps_1m = wrk(nginx.url("large.bin"))
        print(f"4 KiB: pulp-content {rps_4k:.0f} req/s, nginx {nginx_rps_4k:.0f} req/s")
        print(f"1 MiB: pulp-content {mbps_1m:.0f} MB/s, nginx {nginx_mbps_1m:.0f} MB/s")
        print(f"pulp-content RSS after load: {rss:.1f} MB")
        print(f"BENCH content rps_4k={rps_4k:.0f} nginx_rps_4k={nginx_rps_4k:.0f} "
              f"ratio_4k={rps_4k / nginx_rps_4k:.3f} mbps_1m={mbps_1m:.0f} "
              f"nginx_mbps_1m={nginx_mbps_1m:.0f} ratio_1m={mbps_1m / nginx_mbps_1m:.3f} "
              f"rss_mb={rss:.1f}")
    finally:
        nginx.stop()
        system.stop()


if __name__ == "__main__":
    main()
