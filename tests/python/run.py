"""Runs one suite of the Python client tests (`python run.py test_cli`) with unittest, everything
on stdout, and exits non-zero when a check fails (or an expected failure unexpectedly passes: a
server gap was closed, so its check should lose its expectedFailure marker).

Started by crates/findinghub/tests/python_clients.rs, which provides the hub and the environment
described in hubtest.py.
"""

import sys
import time
import unittest


def main(argv):
    if len(argv) != 2:
        print("usage: run.py MODULE", file=sys.stderr)
        return 2
    module = argv[1]
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    started = time.monotonic()
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    gaps = len(result.expectedFailures)
    ok = result.testsRun - failed - gaps - len(result.skipped)
    print(
        f"[{module}] {result.testsRun} checks in {time.monotonic() - started:.1f}s: {ok} ok, "
        f"{gaps} expected failures (known server gaps), {failed} failing",
        flush=True,
    )
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
