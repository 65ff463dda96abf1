"""The ReDoc page at /pulp/api/v3/docs/ (pulp-api.md §1.5) renders in a real browser.

The page is static HTML that loads ReDoc from STATIC_URL (collected by `pulpcore-manager
collectstatic`, which the harness runs) and ReDoc then fetches api.json; only a browser shows
whether the whole chain works offline."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import API, PulpSystem

system = None
CHROMIUM = "/usr/bin/chromium"


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def text_of(html):
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class DocsPageTest(unittest.TestCase):
    def test_docs_page_is_public_html(self):
        r = system.get(API + "docs/", auth=None)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("content-type", "").startswith("text/html"))
        # Without a browser the page holds no operations: they come from api.json.
        self.assertNotIn(b"List artifacts", r.body)

    def test_rendered_dom_shows_the_operations(self):
        if not os.access(CHROMIUM, os.X_OK):
            self.skipTest(f"{CHROMIUM} is not installed")
        profile = tempfile.mkdtemp(prefix="pulp-e2e-chromium-")
        try:
            out = subprocess.run(
                [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--virtual-time-budget=15000", "--dump-dom",
                 f"http://127.0.0.1:{system.api_port}{API}docs/"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        text = text_of(out.stdout)
        self.assertNotIn("Something went wrong", text)
        for tag in ("Artifacts", "Uploads", "Tasks", "Content: Files"):
            self.assertIn(tag, text, f"tag {tag!r} missing from the rendered page")
        for summary in ("List artifacts", "List uploads", "List tasks", "Inspect a task"):
            self.assertIn(summary, text, f"operation {summary!r} missing from the rendered page")


if __name__ == "__main__":
    unittest.main()
