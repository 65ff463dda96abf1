"""The real pulp-cli (github pulp/pulp-cli) drives the server end to end.

pulp-cli is not vendored: a snapshot of its repository lives in the git-ignored .deps/pulp-cli
(e.g. `git --git-dir=<mirror> archive 0.38.4 | tar -x -C .deps/pulp-cli`), and it runs from its
source tree with Debian's Python modules (python3-click, -requests, -packaging, -multidict,
-schema, -tomli-w, -yaml), no pip install. pulp-cli discovers its plugins through the
`pulp_cli.plugins` entry points, which only exist for an installed distribution, so this module
writes a minimal `.dist-info` for the snapshot (version and entry points read from its
pyproject.toml) into a temporary directory on PYTHONPATH. Without the snapshot, or when its
imports fail, the whole module is skipped.

PULP_CLI_PYTHON may name another interpreter for pulp-cli (default: the one running this test);
an inherited PYTHONPATH is kept after the snapshot's directories.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
import uuid

from harness import ADMIN_PASSWORD, API, PulpSystem

SNAPSHOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".deps",
                                        "pulp-cli"))
SKIP_MESSAGE = "pulp-cli not available: put a snapshot of github pulp/pulp-cli in .deps/pulp-cli"
# Plugins mounted into the `pulp` command: the ones whose commands this module uses.
PLUGINS = ("common", "core", "file")

system = None
cli = None


class PulpCli:
    """Runs the snapshot's `pulp` console script with private config and cache directories."""

    def __init__(self):
        self.python = os.environ.get("PULP_CLI_PYTHON") or sys.executable
        self.tmp = tempfile.mkdtemp(prefix="pulp-e2e-cli-")
        with open(os.path.join(SNAPSHOT, "pyproject.toml"), "rb") as f:
            project = tomllib.load(f)["project"]
        self.version = project["version"]
        module, _, attr = project["scripts"]["pulp"].partition(":")
        plugins = project["entry-points"]["pulp_cli.plugins"]
        dist_info = os.path.join(self.tmp, "site", f"pulp_cli-{self.version}.dist-info")
        os.makedirs(dist_info)
        with open(os.path.join(dist_info, "METADATA"), "w") as f:
            f.write(f"Metadata-Version: 2.1\nName: pulp-cli\nVersion: {self.version}\n")
        with open(os.path.join(dist_info, "entry_points.txt"), "w") as f:
            f.write("[pulp_cli.plugins]\n")
            f.writelines(f"{name} = {plugins[name]}\n" for name in PLUGINS if name in plugins)
        # An explicit (empty) config file: no /etc/pulp/cli.toml or ~/.config setting leaks in.
        self.config = os.path.join(self.tmp, "cli.toml")
        with open(self.config, "w") as f:
            f.write("[cli]\n")
        self.cache = os.path.join(self.tmp, "cache")
        glue = os.path.join(SNAPSHOT, "pulp-glue")
        self.env = dict(os.environ)
        self.env.update({
            "PYTHONPATH": os.pathsep.join([os.path.join(self.tmp, "site"),
                                           os.path.join(SNAPSHOT, "src"), SNAPSHOT,
                                           os.path.join(glue, "src"), glue]
                                          + [p for p in [os.environ.get("PYTHONPATH")] if p]),
            "XDG_CACHE_HOME": self.cache,
            "XDG_CONFIG_HOME": os.path.join(self.tmp, "config"),
            "HOME": self.tmp,
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        self.env.pop("PULP_CLI_PROFILE", None)
        self.launcher = (f"import sys; sys.argv[0] = 'pulp'; import {module}; "
                         f"sys.exit({module}.{attr}())")

    def problem(self):
        """Why this snapshot cannot run here (a missing module, ...), or None."""
        modules = ["pulp_cli", "pulp_glue.common.openapi", "pulp_glue.file.context"] + [
            "pulpcore.cli." + p for p in PLUGINS]
        r = subprocess.run([self.python, "-c", "import " + ", ".join(modules)], env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "import failed"
        return None

    def run(self, *args, auth=True, port=None):
        cmd = [self.python, "-c", self.launcher, "--config", self.config,
               "--base-url", f"http://127.0.0.1:{port or system.api_port}"]
        if auth:
            cmd += ["--username", "admin", "--password", ADMIN_PASSWORD]
        # -v: stderr names every operation and response status, for failure messages.
        cmd += ["-v", "--format", "json", *args]
        return subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=300)

    def cleanup(self):
        subprocess.run(["rm", "-rf", self.tmp], check=False)


def setUpModule():
    global system, cli
    if not os.path.isfile(os.path.join(SNAPSHOT, "pyproject.toml")):
        raise unittest.SkipTest(SKIP_MESSAGE)
    try:
        cli = PulpCli()
    except (KeyError, OSError, tomllib.TOMLDecodeError) as e:
        raise unittest.SkipTest(f"{SKIP_MESSAGE} ({type(e).__name__}: {e})")
    problem = cli.problem()
    if problem:
        cli.cleanup()
        raise unittest.SkipTest(f"{SKIP_MESSAGE} ({problem})")
    system = PulpSystem().start()


def tearDownModule():
    if system is not None:
        system.stop()
    if cli is not None:
        cli.cleanup()


def unique_file(suffix=".txt", size=None):
    """A file with content nobody uploaded before; returns (path, bytes, sha256)."""
    data = (f"pulp-cli e2e {uuid.uuid4()}\n".encode() if size is None
            else os.urandom(size))
    fd, path = tempfile.mkstemp(suffix=suffix, dir=cli.tmp)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path, data, hashlib.sha256(data).hexdigest()


class PulpCliTest(unittest.TestCase):
    maxDiff = None

    def pulp(self, *args, **kw):
        """Runs pulp-cli, asserts exit 0, returns (parsed stdout or None, stderr)."""
        r = cli.run(*args, **kw)
        self.assertEqual(r.returncode, 0, f"pulp {' '.join(args)} exited {r.returncode}\n"
                                          f"stdout: {r.stdout}\nstderr: {r.stderr}")
        out = r.stdout.strip()
        if not out:
            return None, r.stderr
        try:
            return json.loads(out), r.stderr
        except ValueError:
            self.fail(f"pulp {' '.join(args)} printed no JSON:\n{r.stdout}\nstderr: {r.stderr}")

    def test_status_prints_the_server_status_and_matches_the_cached_schema(self):
        body, err = self.pulp("status")
        self.assertTrue(body["database_connection"]["connected"])
        versions = {v["component"]: v["version"] for v in body["versions"]}
        self.assertIn("core", versions)
        self.assertIn("file", versions)
        schema = system.get(API + "docs/api.json").json
        self.assertEqual(versions, schema["info"]["x-pulp-app-versions"])
        # Versions agree with the api.json pulp-cli cached: it never needs to refetch it.
        self.assertNotIn("outdated", err)
        _, err = self.pulp("status")
        self.assertNotIn("outdated", err)

    def test_refresh_api_refetches_the_schema_into_the_cache(self):
        self.pulp("status")
        squeezer = os.path.join(cli.cache, "squeezer")
        cached = [f for f in os.listdir(squeezer)
                  if f.startswith(f"http___127.0.0.1_{system.api_port}_")]
        self.assertEqual(len(cached), 1, os.listdir(squeezer))
        cached = os.path.join(squeezer, cached[0])
        served = system.get(API + "docs/api.json").json
        with open(cached) as f:
            self.assertEqual(json.load(f), served)
        # A stale (but valid) cached schema is kept by a plain call and replaced by --refresh-api.
        stale = dict(served, info=dict(served["info"], title="stale"))
        with open(cached, "w") as f:
            json.dump(stale, f)
        self.pulp("status")
        with open(cached) as f:
            self.assertEqual(json.load(f)["info"]["title"], "stale")
        body, _ = self.pulp("--refresh-api", "status")
        self.assertIn("versions", body)
        with open(cached) as f:
            self.assertEqual(json.load(f), served)

    def test_status_needs_no_credentials(self):
        body, _ = self.pulp("status", auth=False)
        self.assertIn("versions", body)

    def test_wrong_password_is_an_authentication_failure(self):
        r = cli.run("--username", "admin", "--password", "wrong", "task", "list", auth=False)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("Authentication failed", r.stderr)

    def test_artifact_upload(self):
        path, data, sha256 = unique_file()
        artifact, err = self.pulp("artifact", "upload", "--file", path)
        self.assertEqual(artifact["sha256"], sha256)
        self.assertEqual(artifact["size"], len(data))
        self.assertRegex(artifact["pulp_href"], rf"^{API}artifacts/[0-9a-f-]{{36}}/$")
        self.assertIn("artifacts_create", err)
        # Uploading it again finds it by sha256 instead.
        again, err = self.pulp("artifact", "upload", "--file", path)
        self.assertEqual(again["pulp_href"], artifact["pulp_href"])
        self.assertIn("Artifact already exists.", err)
        self.assertNotIn("artifacts_create", err)
        listed, _ = self.pulp("artifact", "list", "--sha256", sha256)
        self.assertEqual([a["pulp_href"] for a in listed], [artifact["pulp_href"]])

    def test_chunked_artifact_upload_goes_through_uploads_and_a_commit_task(self):
        path, data, sha256 = unique_file(".bin", size=5000)
        artifact, err = self.pulp("artifact", "upload", "--file", path, "--chunk-size", "2000")
        self.assertEqual(artifact["sha256"], sha256)
        self.assertEqual(artifact["size"], 5000)
        for op in ("uploads_create", "uploads_update", "uploads_commit", "tasks_read"):
            self.assertIn(op, err)
        self.assertEqual(err.count("uploads_update"), 3)

    def test_file_content_upload_then_list_and_show(self):
        path, data, sha256 = unique_file()
        relative_path = f"a/{uuid.uuid4().hex}/b.txt"
        created, err = self.pulp("file", "content", "upload", "--file", path,
                                 "--relative-path", relative_path)
        self.assertIn("Started background task", err)
        self.assertEqual(created["sha256"], sha256)
        self.assertEqual(created["relative_path"], relative_path)
        href = created["pulp_href"]
        self.assertRegex(href, rf"^{API}content/file/files/[0-9a-f-]{{36}}/$")

        listed, _ = self.pulp("file", "content", "list", "--relative-path", relative_path)
        self.assertEqual(len(listed), 1, listed)
        self.assertEqual(listed[0]["pulp_href"], href)
        self.assertEqual(listed[0]["sha256"], sha256)
        self.assertEqual(listed[0]["relative_path"], relative_path)
        self.assertRegex(listed[0]["artifact"], rf"^{API}artifacts/[0-9a-f-]{{36}}/$")

        fields, _ = self.pulp("file", "content", "list", "--sha256", sha256,
                              "--field", "sha256", "--field", "relative_path")
        self.assertEqual(fields, [{"sha256": sha256, "relative_path": relative_path}])
        none, _ = self.pulp("file", "content", "list", "--relative-path", relative_path + ".no")
        self.assertEqual(none, [])

        shown, _ = self.pulp("file", "content", "show", "--relative-path", relative_path,
                             "--sha256", sha256)
        self.assertEqual(shown["pulp_href"], href)
        shown, _ = self.pulp("file", "content", "show", "--href", href)
        self.assertEqual(shown["sha256"], sha256)

    def test_file_content_labels(self):
        # pulpcore >= 3.73.2 has set_label/unset_label on content (LabelsMixin): POST
        # {file_file_content_href}set_label/ {"key", "value"} -> 201 {"key", "value"}.
        path, _, sha256 = unique_file()
        created, _ = self.pulp("file", "content", "upload", "--file", path,
                               "--relative-path", f"labels/{uuid.uuid4().hex}")
        href = created["pulp_href"]
        self.assertIsNone(self.pulp("file", "content", "label", "set", "--href", href,
                                    "--key", "env", "--value", "e2e")[0])
        r = cli.run("file", "content", "label", "show", "--href", href, "--key", "env")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "e2e"), r.stderr)
        listed, _ = self.pulp("file", "content", "list", "--label-select", "env=e2e",
                              "--field", "pulp_href", "--field", "pulp_labels")
        self.assertEqual(listed, [{"pulp_href": href, "pulp_labels": {"env": "e2e"}}])
        self.assertIsNone(self.pulp("file", "content", "label", "unset", "--href", href,
                                    "--key", "env")[0])
        shown, _ = self.pulp("file", "content", "show", "--href", href)
        self.assertEqual(shown["pulp_labels"], {})

    def test_chunked_file_content_upload(self):
        path, data, sha256 = unique_file(".bin", size=5000)
        relative_path = f"chunked/{uuid.uuid4().hex}.bin"
        created, err = self.pulp("file", "content", "upload", "--file", path,
                                 "--relative-path", relative_path, "--chunk-size", "2000")
        self.assertEqual(created["sha256"], sha256)
        self.assertIn("uploads_create", err)
        listed, _ = self.pulp("file", "content", "list", "--relative-path", relative_path)
        self.assertEqual([c["sha256"] for c in listed], [sha256])

    def test_generic_content_list(self):
        # `pulp content list` calls content_list: GET /pulp/api/v3/content/ (all content types).
        path, _, sha256 = unique_file()
        relative_path = f"generic/{uuid.uuid4().hex}"
        created, _ = self.pulp("file", "content", "upload", "--file", path,
                               "--relative-path", relative_path)
        [newest], _ = self.pulp("content", "list", "--ordering", "-pulp_created", "--limit", "1")
        self.assertEqual(newest["pulp_href"], created["pulp_href"])
        self.assertEqual(newest["artifacts"], {relative_path: created["artifact"]})

    def test_uploads_and_workers(self):
        r = system.post(API + "uploads/", {"size": 10})
        self.assertEqual(r.status, 201, r)
        href = r.json["pulp_href"]
        listed, _ = self.pulp("upload", "list", "--field", "pulp_href", "--field", "size")
        self.assertIn({"pulp_href": href, "size": 10}, listed)
        shown, _ = self.pulp("upload", "show", "--href", href)
        self.assertEqual((shown["pulp_href"], shown["chunks"]), (href, []))
        self.pulp("upload", "destroy", "--href", href)
        self.assertEqual(system.get(href).status, 404)
        workers, _ = self.pulp("worker", "list", "--online", "--field", "name")
        self.assertGreaterEqual(len(workers), 1)
        [worker], _ = self.pulp("worker", "list", "--name", workers[0]["name"])
        shown, _ = self.pulp("worker", "show", "--href", worker["pulp_href"])
        self.assertEqual(shown["name"], workers[0]["name"])

    def test_task_list_and_show(self):
        path, _, sha256 = unique_file()
        created, _ = self.pulp("file", "content", "upload", "--file", path,
                               "--relative-path", f"tasks/{uuid.uuid4().hex}")
        tasks, _ = self.pulp("task", "list")
        self.assertTrue(tasks)
        for t in tasks:
            self.assertRegex(t["pulp_href"], rf"^{API}tasks/[0-9a-f-]{{36}}/$")
        [task], _ = self.pulp("task", "list", "--created-resource", created["pulp_href"])
        self.assertIn(task["pulp_href"], [t["pulp_href"] for t in tasks])

        shown, _ = self.pulp("task", "show", "--href", task["pulp_href"])
        self.assertEqual(shown["pulp_href"], task["pulp_href"])
        self.assertEqual(shown["state"], "completed")
        self.assertEqual(shown["created_resources"], [created["pulp_href"]])
        self.assertIsNone(shown["error"])
        task_uuid = task["pulp_href"].rstrip("/").rsplit("/", 1)[1]
        by_uuid, _ = self.pulp("task", "show", "--uuid", task_uuid)
        self.assertEqual(by_uuid["pulp_href"], task["pulp_href"])

        completed, _ = self.pulp("task", "list", "--state", "completed", "--field", "pulp_href",
                                 "--field", "state", "--limit", "100")
        self.assertIn({"pulp_href": task["pulp_href"], "state": "completed"}, completed)
        self.assertEqual({t["state"] for t in completed}, {"completed"})
        some, _ = self.pulp("task", "list", "--state-in", "completed", "--state-in", "failed",
                              "--ordering", "pulp_created", "--limit", "1")
        self.assertEqual(len(some), 1)

    def test_task_cancel(self):
        r = system.post(API + "tasks/test/", {"seconds": 60})
        self.assertEqual(r.status, 202, r)
        href = r.json["task"]
        deadline = time.time() + 30
        while system.get(href).json["state"] != "running" and time.time() < deadline:
            time.sleep(0.05)
        running, _ = self.pulp("task", "list", "--state", "running", "--field", "pulp_href")
        self.assertIn({"pulp_href": href}, running)
        self.pulp("task", "cancel", "--href", href)
        self.assertEqual(system.get(href).json["state"], "canceled")

    def test_failed_task_shows_its_error(self):
        r = system.post(API + "tasks/test/", {"fail": True})
        self.assertEqual(r.status, 202, r)
        task = system.wait_task(r.json["task"])
        shown, _ = self.pulp("task", "show", "--href", task["pulp_href"], "--wait")
        self.assertEqual(shown["state"], "failed")
        self.assertEqual(shown["error"]["description"], task["error"]["description"])

    def test_orphan_cleanup_removes_unreferenced_content_and_artifacts(self):
        path, _, sha256 = unique_file()
        relative_path = f"orphan/{uuid.uuid4().hex}"
        created, _ = self.pulp("file", "content", "upload", "--file", path,
                               "--relative-path", relative_path)
        task, err = self.pulp("orphan", "cleanup", "--protection-time", "0")
        self.assertIn("Started background task", err)
        if task is not None:  # pulp-cli prints the finished task (or its result, core>=3.86)
            self.assertIsInstance(task, dict)
            if "state" in task:
                self.assertEqual(task["state"], "completed")
        listed, _ = self.pulp("file", "content", "list", "--relative-path", relative_path)
        self.assertEqual(listed, [])
        artifacts, _ = self.pulp("artifact", "list", "--sha256", sha256)
        self.assertEqual(artifacts, [])
        self.assertEqual(system.get(created["pulp_href"]).status, 404)

    def test_file_workflow_sync_publish_distribute_modify_destroy(self):
        import functools
        import http.client
        import http.server
        import threading
        fixture = tempfile.mkdtemp(prefix="pulp-cli-fixture-")
        data = {"one.txt": os.urandom(100), "two/three.bin": os.urandom(300)}
        for rel, content in data.items():
            os.makedirs(os.path.dirname(os.path.join(fixture, rel)), exist_ok=True)
            with open(os.path.join(fixture, rel), "wb") as f:
                f.write(content)
        with open(os.path.join(fixture, "PULP_MANIFEST"), "w") as f:
            for rel, content in data.items():
                f.write(f"{rel},{hashlib.sha256(content).hexdigest()},{len(content)}\n")
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=fixture)
        handler.log_message = lambda *a: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        content_app = system.start_content()
        try:
            name = "cli-" + uuid.uuid4().hex[:8]
            self.pulp("file", "repository", "create", "--name", name)
            self.pulp("file", "remote", "create", "--name", name, "--policy", "immediate",
                      "--url", f"http://127.0.0.1:{server.server_address[1]}/PULP_MANIFEST")
            _, err = self.pulp("file", "repository", "sync", "--name", name, "--remote", name)
            self.assertIn("Started background task", err)
            versions, _ = self.pulp("file", "repository", "version", "list", "--repository", name)
            self.assertEqual([v["number"] for v in versions], [1, 0])
            shown, _ = self.pulp("file", "repository", "version", "show", "--repository", name,
                                 "--version", "1")
            self.assertEqual(shown["content_summary"]["present"]["file.file"]["count"], 2)
            content, _ = self.pulp("file", "repository", "content", "list", "--repository", name)
            self.assertEqual({c["relative_path"] for c in content}, set(data))
            publication, _ = self.pulp("file", "publication", "create", "--repository", name)
            self.pulp("file", "distribution", "create", "--name", name, "--base-path", name,
                      "--publication", publication["pulp_href"])
            conn = http.client.HTTPConnection("127.0.0.1", system.content_port, timeout=30)
            conn.request("GET", f"/pulp/content/{name}/two/three.bin")
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, data["two/three.bin"]))
            conn.close()
            sha = hashlib.sha256(data["one.txt"]).hexdigest()
            self.pulp("file", "repository", "content", "remove", "--repository", name,
                      "--sha256", sha, "--relative-path", "one.txt")
            self.pulp("file", "repository", "content", "add", "--repository", name,
                      "--sha256", sha, "--relative-path", "one.txt")
            versions, _ = self.pulp("file", "repository", "version", "list", "--repository", name)
            self.assertEqual([v["number"] for v in versions], [3, 2, 1, 0])
            for kind in ("distribution", "remote", "repository"):
                self.pulp("file", kind, "destroy", "--name", name)
            self.assertEqual(
                system.get(API + f"repositories/file/file/?name={name}").json["count"], 0)
        finally:
            server.shutdown()
            content_app.terminate()
            content_app.wait()


if __name__ == "__main__":
    unittest.main()
