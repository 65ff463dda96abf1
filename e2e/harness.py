"""End-to-end harness: a private Postgres cluster and the real binaries, spoken to over HTTP.

Each test module starts one `PulpSystem` (setUpModule) and stops it (tearDownModule). Binaries
come from PULP_BUILD_DIR (set by ctest). Only the standard library is used.
"""
import base64
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid

PGBIN = "/usr/lib/postgresql/15/bin"
ADMIN_PASSWORD = "e2e-admin-password"


def build_dir():
    d = os.environ.get("PULP_BUILD_DIR")
    if not d:
        d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build")
    return os.path.abspath(d)


def _free_port():
    # Postgres takes a port number, not port 0; ask the kernel for one that is free right now.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A throwaway cluster in a temp dir, owned by `postgres` when we run as root."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pulp-e2e-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args, check=True):
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def start(self):
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(f"{PGBIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.pg_ctl("start")
        for sql in ("CREATE ROLE pulp LOGIN", "CREATE DATABASE pulp OWNER pulp"):
            self.psql(sql)

    def pg_ctl(self, action):
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        args = [f"{PGBIN}/pg_ctl", "-D", self.data, "-w", "-l", os.path.join(self.dir, "log")]
        if action == "start":
            args += ["-o", opts, "start"]
        else:
            args += ["-m", "fast", action]
        self._run(*args)

    def psql(self, sql, db="postgres"):
        out = subprocess.run(
            [f"{PGBIN}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
             "-tAc", sql], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return out.stdout.strip()

    def stop(self):
        self._run(f"{PGBIN}/pg_ctl", "-D", self.data, "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case keys
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def multipart(fields=None, files=None):
    """Encodes a multipart/form-data body. files: {name: (filename, bytes)}."""
    boundary = uuid.uuid4().hex
    out = []
    for k, v in (fields or {}).items():
        for item in v if isinstance(v, list) else [v]:
            out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode())
            out.append(item.encode() if isinstance(item, str) else item)
            out.append(b"\r\n")
    for k, (filename, data) in (files or {}).items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; '
                   f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode())
        out.append(data)
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


# PULP_E2E_TASKING=classic runs every suite in classic tasking: two resource managers (one
# active, one standing by) route the tasks. ctest runs the tasking and file suites both ways.
CLASSIC = os.environ.get("PULP_E2E_TASKING") == "classic"


class PulpSystem:
    """Postgres + migrations + admin user + pulpcore-api on a free loopback port."""

    def __init__(self, extra_env=None, workers=1, classic=None, resource_managers=2):
        self.classic = CLASSIC if classic is None else classic
        self.resource_managers_at_start = resource_managers
        self.default_workers = workers
        self.pg = Postgres()
        self.tmp = tempfile.mkdtemp(prefix="pulp-e2e-")
        self.media = os.path.join(self.tmp, "media")
        self.static = os.path.join(self.tmp, "assets")
        self.extra_env = extra_env or {}
        self.procs = []
        self.api_port = None
        self.content_port = None

    @property
    def env(self):
        env = dict(os.environ)
        env.update({
            "PULP_DATABASES__default__HOST": "127.0.0.1",
            "PULP_DATABASES__default__PORT": str(self.pg.port),
            "PULP_DATABASES__default__USER": "pulp",
            "PULP_DATABASES__default__NAME": "pulp",
            "PULP_MEDIA_ROOT": self.media,
            "PULP_STATIC_ROOT": self.static,
            "PULP_WORKING_DIRECTORY": os.path.join(self.tmp, "tmp"),
            "PULP_SECRET_KEY": "e2e",
            "PULP_TASK_TEST_ENDPOINTS": "true",
        })
        if self.classic:
            env["PULP_USE_NEW_WORKER_STYLE"] = "false"
        env.update(self.extra_env)
        return env

    def binary(self, name):
        sub = {"pulpcore-api": "api", "pulpcore-manager": "manager", "pulp-content": "content",
               "pulpcore-worker": "worker", "pulp-resource-manager": "resource_manager"}[name]
        return os.path.join(build_dir(), "services", sub, name)

    def manager(self, *args, check=True):
        return subprocess.run([self.binary("pulpcore-manager"), *args], env=self.env, check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def start(self, workers=None):
        self.pg.start()
        self.manager("migrate")
        self.manager("reset-admin-password", "--password", ADMIN_PASSWORD)
        self.manager("collectstatic", check=False)
        self.start_api()
        if self.classic:
            for i in range(self.resource_managers_at_start):
                self.start_resource_manager(ready_marker="standing by" if i else "active (term")
        for _ in range(self.default_workers if workers is None else workers):
            self.start_worker()
        return self

    def _spawn(self, name, args, ready_marker):
        """Starts a binary with its output in a log file; waits for `ready_marker` in it."""
        os.makedirs(os.path.join(self.tmp, "logs"), exist_ok=True)
        log_path = os.path.join(self.tmp, "logs", f"{name}-{len(self.procs)}.log")
        log = open(log_path, "w")
        proc = subprocess.Popen([self.binary(name), *args], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        proc.log_path = log_path
        deadline = time.time() + 30
        while True:
            with open(log_path) as f:
                text = f.read()
            for line in text.splitlines():
                if ready_marker in line:
                    self.procs.append(proc)
                    return proc, line
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"{name} did not start:\n{text}")
            time.sleep(0.02)

    def start_api(self):
        proc, line = self._spawn("pulpcore-api", ["--bind", "127.0.0.1:0"], "listening on")
        self.api_port = int(line.strip().rsplit(":", 1)[1])
        self.api_proc = proc
        return proc

    def start_content(self):
        proc, line = self._spawn("pulp-content", ["--bind", "127.0.0.1:0"], "listening on")
        self.content_port = int(line.strip().rsplit(":", 1)[1])
        return proc

    def start_worker(self):
        proc, _ = self._spawn("pulpcore-worker", [], ": started")
        return proc

    def start_resource_manager(self, *args, ready_marker="active (term"):
        proc, _ = self._spawn("pulp-resource-manager", list(args), ready_marker)
        return proc

    def resource_managers(self):
        return [p for p in self.procs
                if p.args[0].endswith("pulp-resource-manager") and p.poll() is None]

    def workers(self):
        return [p for p in self.procs if p.args[0].endswith("pulpcore-worker") and p.poll() is None]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.pg.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- HTTP ----------------------------------------------------------------------------
    def request(self, method, path, *, auth=("admin", ADMIN_PASSWORD), json_body=None,
                body=None, content_type=None, headers=None, port=None, timeout=60):
        """One request on a fresh connection; `path` may be an absolute URL or a path."""
        if path.startswith("http://"):
            parsed = urllib.parse.urlsplit(path)
            path = parsed.path + ("?" + parsed.query if parsed.query else "")
        hdrs = dict(headers or {})
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            hdrs.setdefault("Authorization", f"Basic {token}")
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = content_type or "application/json"
        if content_type:
            hdrs["Content-Type"] = content_type
        conn = http.client.HTTPConnection("127.0.0.1", port or self.api_port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body=json_body, **kw)

    def post_multipart(self, path, fields=None, files=None, **kw):
        body, ctype = multipart(fields, files)
        return self.request("POST", path, body=body, content_type=ctype, **kw)

    def content(self, path, method="GET", headers=None, timeout=60):
        """A request to pulp-content: (status, lower-case headers, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.content_port, timeout=timeout)
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def upload_into(self, repo_href, relative_path, data):
        """Uploads `data` as file content into a repository (a new version); asserts it worked."""
        body, ctype = multipart({"relative_path": relative_path, "repository": repo_href},
                                {"file": ("f", data)})
        r = self.request("POST", API + "content/file/files/", body=body, content_type=ctype)
        task = self.wait_task(r.json["task"])
        assert task["state"] == "completed", task["error"]

    def dispatch_test_task(self, **body):
        """POST tasks/test/ (a task that sleeps, fails or records its runs); returns its href."""
        r = self.post(API + "tasks/test/", body)
        assert r.status == 202, r
        return r.json["task"]

    def wait_task(self, href, timeout=60):
        deadline = time.time() + timeout
        while True:
            t = self.get(href).json
            if t["state"] in ("completed", "failed", "canceled", "skipped"):
                return t
            if time.time() > deadline:
                raise AssertionError(f"task {href} still {t['state']}")
            time.sleep(0.05)


API = "/pulp/api/v3/"
