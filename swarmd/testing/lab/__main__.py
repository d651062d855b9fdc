"""
C{python -m swarmd.testing.lab start|status|suspend|stop ...}
"""

import signal
import sys

from swarmd.testing.lab._command import main

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
