"""`python -m forecast.worker`: the worker process, started by `forecast run` when none answers."""

import sys

from forecast.worker.server import main

if __name__ == "__main__":
    sys.exit(main())
