"""Root test configuration, shared by the core's tests and every plugin package's tests."""

import os

# The suite never loads whatever chgsync plugins happen to be installed: tests register what they
# exercise. Subprocesses inherit this; a test that needs a plugin through its entry point names it.
os.environ["CHGSYNC_LOAD_PLUGINS"] = ""
