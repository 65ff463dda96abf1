"""The system starts from nothing and answers: status without credentials, the API root."""
import unittest

from harness import API, PulpSystem

system = None


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


class SmokeTest(unittest.TestCase):
    def test_status_is_public_and_lists_this_api_process(self):
        r = system.get(API + "status/", auth=None)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "application/json")
        body = r.json
        self.assertEqual({v["component"] for v in body["versions"]}, {"core", "file"})
        self.assertTrue(body["database_connection"]["connected"])
        self.assertEqual(len(body["online_api_apps"]), 1)

    def test_migrate_twice_is_a_no_op(self):
        out = system.manager("migrate").stdout
        self.assertIn("No migrations to apply.", out)


if __name__ == "__main__":
    unittest.main()
