"""Administration: `pulpcore-manager` commands and how settings reach the processes
(pulp-api.md §6.3, §1.1): check, showmigrations, concurrent migrate on an empty database,
invalid settings stopping `pulpcore-api` at start, settings.yaml via PULP_SETTINGS."""
import os
import re
import select
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

from checks import body_json
from harness import API, PulpSystem

system = None


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def manager(env, *args, timeout=120):
    return subprocess.run([system.binary("pulpcore-manager"), *args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


class RunningApi:
    """A pulpcore-api started with its own environment; stopped on exit."""

    def __init__(self, env, test):
        self.test = test
        self.proc = subprocess.Popen([system.binary("pulpcore-api"), "--bind", "127.0.0.1:0"],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        deadline = time.time() + 30
        line = ""
        while time.time() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if "listening on" not in line:
            self.stop()
            test.fail(f"pulpcore-api did not start: {line}")
        self.port = int(line.strip().rsplit(":", 1)[1])

    def get(self, path, **kw):
        return system.request("GET", path, port=self.port, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class CheckTest(unittest.TestCase):
    def test_check_masks_the_database_password(self):
        secret = "pw-" + uuid.uuid4().hex
        env = dict(system.env, PULP_DATABASES__default__PASSWORD=secret)
        out = manager(env, "check")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertNotIn(secret, out.stdout + out.stderr)
        self.assertIn(system.media, out.stdout, "effective settings are printed")
        self.assertIn("System check identified no issues", out.stdout)

    def test_showmigrations_lists_applied_migrations(self):
        out = manager(system.env, "showmigrations")
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertIn("core", lines)
        self.assertIn("file", lines)
        applied = [l for l in lines if l.startswith(" [X] ")]
        self.assertTrue(applied, out.stdout)
        self.assertEqual([l for l in lines if l.startswith(" [ ] ")], [])


class BadSettingsTest(unittest.TestCase):
    def assert_refused(self, name, **overrides):
        env = dict(system.env, **overrides)
        try:
            out = subprocess.run([system.binary("pulpcore-api"), "--bind", "127.0.0.1:0"],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, timeout=20)
        except subprocess.TimeoutExpired as e:
            self.fail(f"pulpcore-api kept running with {overrides}: {e.output}")
        self.assertNotEqual(out.returncode, 0, out.stdout)
        self.assertNotIn("listening on", out.stdout)
        self.assertIn(name, out.stdout, f"the error must name {name}")

    def test_api_root_without_slashes(self):
        self.assert_refused("API_ROOT", PULP_API_ROOT="pulp")

    def test_worker_ttl_not_a_number(self):
        self.assert_refused("WORKER_TTL", PULP_WORKER_TTL="abc")

    def test_allowed_checksums_without_sha256(self):
        self.assert_refused("ALLOWED_CONTENT_CHECKSUMS", PULP_ALLOWED_CONTENT_CHECKSUMS='["md5"]')

    def test_allowed_checksums_with_an_unknown_algorithm(self):
        self.assert_refused("ALLOWED_CONTENT_CHECKSUMS",
                            PULP_ALLOWED_CONTENT_CHECKSUMS='["sha256", "crc32"]')


class MigrateTest(unittest.TestCase):
    def test_concurrent_migrate_on_a_fresh_database(self):
        name = "fresh_" + uuid.uuid4().hex[:10]
        system.pg.psql(f"CREATE DATABASE {name} OWNER pulp")
        env = dict(system.env, PULP_DATABASES__default__NAME=name)
        procs = [subprocess.Popen([system.binary("pulpcore-manager"), "migrate"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        results = []
        for p in procs:
            try:
                stdout, stderr = p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                for q in procs:
                    q.kill()
                self.fail("concurrent migrate did not finish")
            results.append((p.returncode, stdout, stderr))
        for rc, stdout, stderr in results:
            self.assertEqual(rc, 0, stdout + stderr)
        applied = [m for _, stdout, _ in results
                   for m in re.findall(r"^\s*Applying (\S+)\.\.\. OK$", stdout, re.M)]
        self.assertTrue(applied, "no migration was applied")
        self.assertEqual(len(applied), len(set(applied)),
                         f"a migration was applied more than once: {applied}")
        shown = manager(env, "showmigrations")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        done = re.findall(r"^ \[X\] (\S+)$", shown.stdout, re.M)
        self.assertEqual(len(done), len(applied))
        self.assertNotIn(" [ ] ", shown.stdout)
        again = manager(env, "migrate")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("No migrations to apply.", again.stdout)
        # The schema works: the admin user can be created and the API serves from it.
        self.assertEqual(manager(env, "reset-admin-password", "--password", "x").returncode, 0)
        self.assertEqual(system.pg.psql("SELECT count(*) FROM core_user", db=name), "1")
        with RunningApi(env, self) as api:
            self.assertEqual(api.get(API + "uploads/", auth=("admin", "x")).status, 200)


class SettingsFileTest(unittest.TestCase):
    def setUp(self):
        fd, self.path = tempfile.mkstemp(prefix="pulp-e2e-settings-", suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write('CONTENT_ORIGIN: "http://yaml.example.org"\n'
                    'CONTENT_PATH_PREFIX: "/yaml-content/"\n'
                    'API_ROOT: "/custom/"\n')
        self.addCleanup(os.unlink, self.path)

    def status(self, api, root):
        return body_json(self, api.get(f"{root}api/v3/status/", auth=None), 200)

    def test_settings_file_is_honoured(self):
        env = dict(system.env, PULP_SETTINGS=self.path)
        with RunningApi(env, self) as api:
            status = self.status(api, "/custom/")
            self.assertEqual(status["content_settings"],
                             {"content_origin": "http://yaml.example.org",
                              "content_path_prefix": "/yaml-content/"})
            self.assertEqual(api.get(API + "status/", auth=None).status, 404)
            upload = body_json(self, system.request("POST", "/custom/api/v3/uploads/",
                                                    json_body={"size": 1}, port=api.port), 201)
            self.assertTrue(upload["pulp_href"].startswith("/custom/api/v3/uploads/"))

    def test_environment_overrides_the_settings_file(self):
        env = dict(system.env, PULP_SETTINGS=self.path,
                   PULP_CONTENT_ORIGIN="http://env.example.org")
        with RunningApi(env, self) as api:
            status = self.status(api, "/custom/")
            self.assertEqual(status["content_settings"],
                             {"content_origin": "http://env.example.org",
                              "content_path_prefix": "/yaml-content/"})
        out = manager(env, "check")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("http://env.example.org", out.stdout)
        self.assertNotIn("http://yaml.example.org", out.stdout)


if __name__ == "__main__":
    unittest.main()
