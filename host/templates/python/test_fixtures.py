"""Every fixture of fixtures/, run natively (`python3 -m unittest`) through the rules of
rules.py, called as app.py calls them. `orderflow plugin test` runs the same files through the
built component."""

import unittest
from pathlib import Path

from orderflow_sdk.testing import check_fixtures

import rules


class Fixtures(unittest.TestCase):
    def test_every_fixture(self):
        check_fixtures(self, Path(__file__).resolve().parent / "fixtures", rules)


if __name__ == "__main__":
    unittest.main()
