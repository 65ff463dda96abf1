"""Upload benchmark: one artifact of BENCH_UPLOAD_MB (default 2048) MiB through the REST API.

The API must stream it to disk (peak RSS stays flat) while hashing it with every allowed
digest. Anchor, in the same run: the same bytes written and fsynced to the same filesystem.
Last line: BENCH upload size_mb=... mbps=... disk_mbps=... ratio=... peak_rss_mb=...
"""
import base64
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import ADMIN_PASSWORD, API, PulpSystem  # noqa: E402

SIZE_MB = int(os.environ.get("BENCH_UPLOAD_MB", "2048"))


def disk_write_mbps(directory, block, count):
    path = os.path.join(directory, "anchor.bin")
    t0 = time.time()
    with open(path, "wb") as f:
        for _ in range(count):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    elapsed = time.time() - t0
    os.unlink(path)
    return count * len(block) / 1e6 / elapsed


def main():
    system = PulpSystem(workers=0).start()
    try:
        pid = system.api_proc.pid
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        block = os.urandom(1 << 20)
        boundary = uuid.uuid4().hex
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"'
                '\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        conn = http.client.HTTPConnection("127.0.0.1", system.api_port, timeout=900)
        conn.putrequest("POST", API + "artifacts/")
        conn.putheader("Authorization",
                       "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode())
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + SIZE_MB * len(block) + len(tail)))
        conn.endheaders()
        digest = hashlib.sha256()
        t0 = time.time()
        conn.send(head)
        for _ in range(SIZE_MB):
            conn.send(block)
            digest.update(block)
        conn.send(tail)
        response = conn.getresponse()
        body = json.loads(response.read())
        elapsed = time.time() - t0
        done.set()
        sampler.join()
        assert response.status == 201, body
        assert body["sha256"] == digest.hexdigest() and body["size"] == SIZE_MB << 20, body
        os.remove(os.path.join(system.media, body["file"]))
        mbps = SIZE_MB * len(block) / 1e6 / elapsed
        disk = disk_write_mbps(system.media, block, SIZE_MB)
        print(f"upload of {SIZE_MB} MiB: {elapsed:.1f} s, {mbps:.0f} MB/s (hashing sha224/256/384/512);"
              f" plain disk write {disk:.0f} MB/s; API peak RSS {peak[0] / 1024:.1f} MB")
        print(f"BENCH upload size_mb={SIZE_MB} mbps={mbps:.0f} disk_mbps={disk:.0f} "
              f"ratio={mbps / disk:.3f} peak_rss_mb={peak[0] / 1024:.1f}")
    finally:
        system.stop()


if __name__ == "__main__":
    main()
