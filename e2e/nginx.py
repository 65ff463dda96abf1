"""A real nginx serving a folder on a loopback port: fixture remotes for tests, the anchor for
benchmarks. Runs unprivileged from its own config; the folder is world-readable because nginx
workers drop to an unprivileged user when started as root."""
import os
import shutil
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, access_log=False):
        self.root = tempfile.mkdtemp(prefix="pulp-nginx-")
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.access_log = os.path.join(self.root, "access.log") if access_log else None
        self.proc = None

    def write(self, relative_path, data):
        """Puts a file under the served folder (folders created world-readable)."""
        path = os.path.join(self.root, relative_path)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        while folder.startswith(self.root) and folder != self.root:
            os.chmod(folder, 0o755)
            folder = os.path.dirname(folder)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)

    def url(self, relative_path=""):
        return f"http://127.0.0.1:{self.port}/{relative_path}"

    def requests_for(self, relative_path):
        """How many requests nginx logged for a path (needs access_log=True)."""
        with open(self.access_log) as f:
            return sum(1 for line in f if f" /{relative_path} " in line)

    def start(self):
        conf = os.path.join(self.root, "nginx.conf")
        log = f"access_log {self.access_log};" if self.access_log else "access_log off;"
        with open(conf, "w") as f:
            f.write(f"""worker_processes 2; daemon off; pid {self.root}/nginx.pid;
error_log {self.root}/error.log;
events {{ worker_connections 1024; }}
http {{ {log} sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path {self.root}/tmp; proxy_temp_path {self.root}/tmp;
  fastcgi_temp_path {self.root}/tmp; uwsgi_temp_path {self.root}/tmp; scgi_temp_path {self.root}/tmp;
  server {{ listen 127.0.0.1:{self.port}; root {self.root}; }} }}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.root],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                with open(os.path.join(self.root, "error.log")) as f:
                    raise RuntimeError("nginx did not start:\n" + f.read()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen within 10 s")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
