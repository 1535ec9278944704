"""`python .../cowtop_experiment`: says which interpreter this is (hello.py), then runs the
experiment (main.py). Kept parseable by Python 2.7, like hello.py."""
import os
import sys

if __name__ == "__main__":
    if not __package__:
        # Run as a directory, the way cowtop runs it: Python put this directory first on sys.path.
        # Its parent goes there instead, so that the package imports as itself and its files
        # (main.py, report.py...) are not top-level modules.
        here = os.path.dirname(os.path.abspath(__file__))
        if sys.path and os.path.abspath(sys.path[0]) == here:
            del sys.path[0]
        sys.path.insert(0, os.path.dirname(here))
    from cowtop_experiment.hello import say_hello
    say_hello(sys.argv[1:])
    from cowtop_experiment.main import main
    main()
