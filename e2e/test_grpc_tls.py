"""The internal gRPC links over mutual TLS (GRPC_TLS_CERT/KEY/CA): every process presents the
deployment's certificate and accepts only peers signed by its CA. Run in classic tasking so
the manager links, task cancels and content cache invalidation all cross TLS."""
import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

import grpc

from grpc_probe import health
from harness import API, PulpSystem

system = None
certs = None


def make_certs(folder):
    """A CA and one certificate for 127.0.0.1, signed by it (what the operator would mount)."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, cwd=folder,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pulp-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pulp", "-keyout", "tls.key",
        "-out", "tls.csr")
    with open(os.path.join(folder, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    run("x509", "-req", "-in", "tls.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "tls.pem")
    return {name: os.path.join(folder, name) for name in ("ca.pem", "tls.pem", "tls.key")}


def setUpModule():
    global system, certs
    folder = tempfile.mkdtemp(prefix="pulp-tls-")
    certs = make_certs(folder)
    certs["folder"] = folder
    system = PulpSystem(classic=True, extra_env={
        "PULP_GRPC_TLS_CERT": certs["tls.pem"], "PULP_GRPC_TLS_KEY": certs["tls.key"],
        "PULP_GRPC_TLS_CA": certs["ca.pem"]}).start()
    system.start_content()


def tearDownModule():
    system.stop()
    shutil.rmtree(certs["folder"], ignore_errors=True)


def read(name):
    with open(certs[name], "rb") as f:
        return f.read()


def content_address():
    return system.pg.psql("SELECT grpc_address FROM core_appstatus WHERE app_type = 'content'",
                          db="pulp")


class TlsTest(unittest.TestCase):
    def test_health_needs_a_client_certificate_from_the_ca(self):
        address = content_address()
        good = grpc.ssl_channel_credentials(read("ca.pem"), read("tls.key"), read("tls.pem"))
        self.assertEqual(health(address, credentials=good), "SERVING")
        for creds in (None, grpc.ssl_channel_credentials(read("ca.pem"))):
            with self.assertRaises(grpc.RpcError):
                health(address, credentials=creds)

    def test_tasks_cancels_and_invalidation_cross_tls(self):
        # Routed by the resource manager over its TLS links.
        done = system.wait_task(system.dispatch_test_task(seconds=0.01))
        self.assertEqual(done["state"], "completed")
        running = system.dispatch_test_task(seconds=30)
        for _ in range(200):
            if system.get(running).json["state"] == "running":
                break
        system.request("PATCH", running, json_body={"state": "canceled"})
        self.assertEqual(system.wait_task(running, timeout=10)["state"], "canceled")
        # A new distribution is served at once: the invalidation reached pulp-content.
        repo = system.post(API + "repositories/file/file/", {"name": "t-" + uuid.uuid4().hex[:6]}).json
        system.upload_into(repo["pulp_href"], "x.txt", b"over tls")
        pub = system.wait_task(system.post(API + "publications/file/file/",
                                           {"repository": repo["pulp_href"]}).json["task"])
        base = "tls-" + uuid.uuid4().hex[:6]
        self.assertEqual(system.content(f"/pulp/content/{base}/x.txt")[0], 404)
        system.wait_task(system.post(API + "distributions/file/file/", {
            "name": base, "base_path": base, "publication": pub["created_resources"][0]}).json["task"])
        self.assertEqual(system.content(f"/pulp/content/{base}/x.txt")[2], b"over tls")

    def test_a_missing_certificate_file_stops_the_process_naming_the_setting(self):
        env = dict(system.env, PULP_GRPC_TLS_KEY="/nonexistent/tls.key")
        out = subprocess.run([system.binary("pulp-content"), "--bind", "127.0.0.1:0"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("GRPC_TLS_KEY", out.stdout)


if __name__ == "__main__":
    unittest.main()
