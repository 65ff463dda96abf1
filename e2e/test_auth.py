"""Authentication (pulp-api.md §2.1 "Auth", §1.5): HTTP Basic against the admin user that
`pulpcore-manager reset-admin-password` manages, Django's password hash format, and the
endpoints that need no credentials."""
import base64
import hashlib
import hmac
import re
import unittest
import uuid

from checks import body_json
from harness import ADMIN_PASSWORD, API, PulpSystem

system = None
PROTECTED = API + "uploads/"


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class CredentialsTest(unittest.TestCase):
    def test_no_credentials_is_401_with_a_basic_challenge(self):
        for method, path in (("GET", PROTECTED), ("POST", PROTECTED), ("GET", API + "tasks/"),
                             ("GET", API + "artifacts/"), ("GET", API + "content/file/files/")):
            with self.subTest(method=method, path=path):
                r = system.request(method, path, auth=None,
                                   json_body={"size": 1} if method == "POST" else None)
                body = body_json(self, r, 401)
                self.assertEqual(body, {"detail": "Authentication credentials were not provided."})
                self.assertEqual(r.headers.get("www-authenticate"), 'Basic realm="api"')

    def test_ajax_clients_get_a_non_browser_challenge(self):
        r = system.get(PROTECTED, auth=None, headers={"X-Requested-With": "XMLHttpRequest"})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.headers.get("www-authenticate"), 'xBasic realm="api"')

    def test_wrong_password_is_401_invalid(self):
        for user, password in (("admin", "not-the-password"), ("admin", ""),
                               ("nobody-" + uuid.uuid4().hex[:8], ADMIN_PASSWORD)):
            with self.subTest(user=user, password=password):
                r = system.get(PROTECTED, auth=(user, password))
                body = body_json(self, r, 401)
                self.assertEqual(body, {"detail": "Invalid username/password."})
                self.assertEqual(r.headers.get("www-authenticate"), 'Basic realm="api"')

    def test_public_endpoints_ignore_wrong_credentials(self):
        # Upstream's status, livez, API root and schema views have authentication_classes = []:
        # whatever Authorization header comes along is never looked at.
        bad = ("admin", "wrong-" + uuid.uuid4().hex)
        for path in (API + "status/", API + "livez/", API, API + "docs/api.json"):
            with self.subTest(path=path):
                r = system.get(path, auth=bad)
                self.assertEqual(r.status, 200, r)

    def test_right_password_is_accepted(self):
        r = system.get(PROTECTED)
        self.assertEqual(r.status, 200, r)

    def test_case_insensitive_basic_scheme(self):
        token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        r = system.get(PROTECTED, auth=None, headers={"Authorization": f"basic {token}"})
        self.assertEqual(r.status, 200, r)

    def test_malformed_basic_headers_are_401_with_drf_messages(self):
        not_encoded = "Invalid basic header. Credentials not correctly base64 encoded."
        cases = [
            ("Basic", "Invalid basic header. No credentials provided."),
            ("Basic abc def",
             "Invalid basic header. Credentials string should not contain spaces."),
            ("Basic !!!notbase64", not_encoded),
            ("Basic " + base64.b64encode(b"no-colon-here").decode(), not_encoded),
        ]
        for header, detail in cases:
            with self.subTest(header=header):
                r = system.get(PROTECTED, auth=None, headers={"Authorization": header})
                self.assertEqual(body_json(self, r, 401), {"detail": detail})
                self.assertEqual(r.headers.get("www-authenticate"), 'Basic realm="api"')

    def test_other_schemes_count_as_no_credentials(self):
        # DRF's BasicAuthentication returns None for a non-Basic scheme; nothing else matches.
        r = system.get(PROTECTED, auth=None, headers={"Authorization": "Bearer abc.def"})
        self.assertEqual(body_json(self, r, 401),
                         {"detail": "Authentication credentials were not provided."})


class PublicEndpointsTest(unittest.TestCase):
    def test_reachable_without_credentials(self):
        for path in (API + "status/", API + "livez/", API, API + "docs/api.json"):
            with self.subTest(path=path):
                r = system.get(path, auth=None)
                self.assertEqual(r.status, 200, r)

    def test_livez_is_empty_200(self):
        r = system.get(API + "livez/", auth=None)
        self.assertEqual((r.status, r.body), (200, b""))

    def test_api_root_lists_collections_by_absolute_url(self):
        body = body_json(self, system.get(API, auth=None), 200)
        origin = f"http://127.0.0.1:{system.api_port}"
        for key in ("artifacts", "uploads", "tasks", "content/file/files"):
            with self.subTest(key=key):
                self.assertEqual(body.get(key), f"{origin}{API}{key}/")


class ResetAdminPasswordTest(unittest.TestCase):
    def tearDown(self):
        # Every other test uses the harness password: put it back whatever happened.
        system.manager("reset-admin-password", "--password", ADMIN_PASSWORD)
        r = system.get(PROTECTED)
        self.assertEqual(r.status, 200, "admin password could not be restored")

    def test_password_option_sets_the_new_password(self):
        new = "e2e-" + uuid.uuid4().hex
        out = system.manager("reset-admin-password", "--password", new)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('Successfully set password for "admin" user.', out.stdout)
        self.assertEqual(system.get(PROTECTED, auth=("admin", new)).status, 200)
        never = "never-valid-" + uuid.uuid4().hex
        r = system.get(PROTECTED, auth=("admin", never))
        self.assertEqual(body_json(self, r, 401), {"detail": "Invalid username/password."})

    def test_random_option_prints_a_working_password(self):
        out = system.manager("reset-admin-password", "--random")
        self.assertEqual(out.returncode, 0, out.stderr)
        # upstream: self.stdout.write('Successfully set "admin" user\'s password to "%s".')
        m = re.search(r'Successfully set "admin" user\'s password to "([A-Za-z0-9]+)"\.',
                      out.stdout)
        self.assertIsNotNone(m, f"unexpected output: {out.stdout!r}")
        password = m.group(1)
        self.assertEqual(len(password), 20)
        self.assertEqual(system.get(PROTECTED, auth=("admin", password)).status, 200)
        again = system.manager("reset-admin-password", "--random")
        m2 = re.search(r'password to "([A-Za-z0-9]+)"', again.stdout)
        self.assertIsNotNone(m2, again.stdout)
        self.assertNotEqual(m2.group(1), password, "random passwords must differ")

    def test_passwords_with_colons_and_non_ascii(self):
        new = "p:ä ß:" + uuid.uuid4().hex[:6]
        out = system.manager("reset-admin-password", "--password", new)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(system.get(PROTECTED, auth=("admin", new)).status, 200)
        self.assertEqual(system.get(PROTECTED, auth=("admin", new.split(":")[0])).status, 401)

    def test_empty_password_is_refused(self):
        out = system.manager("reset-admin-password", "--password", "", check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(system.get(PROTECTED).status, 200, "old password must still work")

    def test_stored_hash_is_django_pbkdf2_sha256(self):
        new = "hash-check-" + uuid.uuid4().hex
        system.manager("reset-admin-password", "--password", new)
        stored = system.pg.psql("SELECT password FROM core_user WHERE username = 'admin'",
                                db="pulp")
        m = re.fullmatch(r"pbkdf2_sha256\$(\d+)\$([A-Za-z0-9]+)\$([A-Za-z0-9+/]+=*)", stored)
        self.assertIsNotNone(m, f"not a Django pbkdf2_sha256 hash: {stored!r}")
        iterations, salt, encoded = int(m.group(1)), m.group(2), m.group(3)
        self.assertGreaterEqual(iterations, 600000, "Django 5.x uses >= 600000 iterations")
        self.assertGreaterEqual(len(salt), 16)
        derived = hashlib.pbkdf2_hmac("sha256", new.encode(), salt.encode(), iterations)
        self.assertTrue(hmac.compare_digest(base64.b64encode(derived).decode(), encoded),
                        "hash does not verify the password the way Django does")
        # A second reset salts differently.
        system.manager("reset-admin-password", "--password", new)
        again = system.pg.psql("SELECT password FROM core_user WHERE username = 'admin'",
                               db="pulp")
        self.assertNotEqual(again, stored)


if __name__ == "__main__":
    unittest.main()
