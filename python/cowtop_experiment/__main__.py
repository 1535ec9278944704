"""`python -m cowtop_experiment`: says which interpreter this is (hello.py), then runs the
experiment (main.py). Kept parseable by Python 2.7, like hello.py."""
import sys

from .hello import say_hello

if __name__ == "__main__":
    say_hello(sys.argv[1:])
    from .main import main
    main()
