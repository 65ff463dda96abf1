"""Sync benchmark.

nginx serves BENCH_FILES (default 10,000) files of 4 KiB and their PULP_MANIFEST from a
temporary folder. Measured in one run: an immediate sync (files/s from dispatch to completion),
the anchor `xargs -P8 curl` downloading the same files, and an on_demand sync of a manifest of
BENCH_ONDEMAND (default 100,000) lines.
Last line: BENCH sync files_per_s=... curl_files_per_s=... ratio=... on_demand_100k_s=...
"""
import hashlib
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import API, PulpSystem  # noqa: E402
from nginx import Nginx  # noqa: E402

FILES = int(os.environ.get("BENCH_FILES", "10000"))
ONDEMAND = int(os.environ.get("BENCH_ONDEMAND", "100000"))


def sync(system, url, policy):
    repo = system.post(API + "repositories/file/file/", {"name": "b-" + uuid.uuid4().hex[:6]}).json
    remote = system.post(API + "remotes/file/file/", {"name": "b-" + uuid.uuid4().hex[:6],
                                                      "url": url, "policy": policy}).json
    t0 = time.time()
    href = system.post(repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json["task"]
    task = system.wait_task(href, timeout=1800)
    elapsed = time.time() - t0
    assert task["state"] == "completed", task["error"]
    return elapsed


def main():
    nginx = Nginx()
    system = PulpSystem()
    try:
        lines = []
        for i in range(FILES):
            data = os.urandom(4096)
            name = f"f{i:06d}.bin"
            nginx.write(f"immediate/{name}", data)
            lines.append(f"{name},{hashlib.sha256(data).hexdigest()},4096")
        nginx.write("immediate/PULP_MANIFEST", ("\n".join(lines) + "\n").encode())
        nginx.write("lazy/PULP_MANIFEST", "".join(
            f"d{i // 1000}/g{i:07d}.bin,{hashlib.sha256(str(i).encode()).hexdigest()},{i}\n"
            for i in range(ONDEMAND)).encode())
        nginx.start()
        base = nginx.url().rstrip("/")
        # Anchor: 8 parallel curl processes, the same files to /dev/null.
        urls = "\n".join(f"{base}/immediate/{line.split(',')[0]}" for line in lines)
        t0 = time.time()
        subprocess.run(["xargs", "-P8", "-n1", "curl", "-sf", "-o", "/dev/null"],
                       input=urls, text=True, check=True)
        curl_rate = FILES / (time.time() - t0)

        system.start()
        elapsed = sync(system, f"{base}/immediate/PULP_MANIFEST", "immediate")
        rate = FILES / elapsed
        lazy_s = sync(system, f"{base}/lazy/PULP_MANIFEST", "on_demand")
        print(f"immediate sync of {FILES} x 4 KiB: {elapsed:.1f} s, {rate:.0f} files/s")
        print(f"xargs -P8 curl of the same files: {curl_rate:.0f} files/s")
        print(f"on_demand sync of {ONDEMAND} lines: {lazy_s:.1f} s")
        print(f"BENCH sync files_per_s={rate:.0f} curl_files_per_s={curl_rate:.0f} "
              f"ratio={rate / curl_rate:.3f} on_demand_100k_s={lazy_s:.1f}")
    finally:
        nginx.stop()
        system.stop()


if __name__ == "__main__":
    main()
