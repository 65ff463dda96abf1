"""Sync benchmark.

nginx serves BENCH_FILES (default 10,000) files of 4 KiB and their PULP_MANIFEST from a
temporary folder. Measured in one run: an immediate sync (files/s from dispatch to completion),
the anchor `xargs -P8 curl` downloading the same files, and an on_demand sync of a manifest of
BENCH_ONDEMAND (default 100,000) lines.
Last line: BENCH sync files_per_s=... curl_files_per_s=... ratio=... on_demand_100k_s=...
"""
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import API, PulpSystem  # noqa: E402

FILES = int(os.environ.get("BENCH_FILES", "10000"))
ONDEMAND = int(os.environ.get("BENCH_ONDEMAND", "100000"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    root = tempfile.mkdtemp(prefix="pulp-bench-sync-")
    os.chmod(root, 0o755)
    nginx = None
    system = PulpSystem()
    try:
        immediate = os.path.join(root, "immediate")
        os.makedirs(immediate)
        lines = []
        for i in range(FILES):
            data = os.urandom(4096)
            name = f"f{i:06d}.bin"
            with open(os.path.join(immediate, name), "wb") as f:
                f.write(data)
            lines.append(f"{name},{hashlib.sha256(data).hexdigest()},4096")
        with open(os.path.join(immediate, "PULP_MANIFEST"), "w") as f:
            f.write("\n".join(lines) + "\n")
        lazy = os.path.join(root, "lazy")
        os.makedirs(lazy)
        with open(os.path.join(lazy, "PULP_MANIFEST"), "w") as f:
            for i in range(ONDEMAND):
                f.write(f"d{i // 1000}/g{i:07d}.bin,{hashlib.sha256(str(i).encode()).hexdigest()},{i}\n")
        for dirpath, _, names in os.walk(root):
            os.chmod(dirpath, 0o755)
            for n in names:
                os.chmod(os.path.join(dirpath, n), 0o644)
        port = free_port()
        conf = os.path.join(root, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 2; daemon off; pid {root}/nginx.pid; error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; keepalive_requests 100000;
  server {{ listen 127.0.0.1:{port}; root {root}; }} }}
""")
        nginx = subprocess.Popen(["nginx", "-c", conf, "-p", root],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        time.sleep(0.5)
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
        if nginx is not None:
            nginx.terminate()
            nginx.wait()
        system.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
