"""The experiment's first line on the report pipe: which interpreter this is. cowtop checks it
from this line instead of starting the interpreter a second time to ask. Python 2.7 must be able
to parse this file and __main__.py, so that an interpreter too old for the rest still answers."""
import gc
import json
import os
import platform
import sys


def report_fd(argv):
    for i, arg in enumerate(argv[:-1]):
        if arg == "--report-fd":
            try:
                return int(argv[i + 1])
            except ValueError:
                return None
    return None


def say_hello(argv):
    """Writes the hello line; exits (code 3) when the interpreter is too old for the rest."""
    implementation = platform.python_implementation()
    version = sys.version_info[:3]
    line = json.dumps({"type": "hello", "implementation": implementation, "version": list(version),
                       "executable": sys.executable, "freeze": hasattr(gc, "freeze")})
    fd = report_fd(argv)
    if fd is not None:
        os.write(fd, (line + "\n").encode("utf-8"))
    if version[0] < 3 or (implementation == "CPython" and version[:2] < (3, 7)):
        os._exit(3)
