"""
C{python -m swarmd.metrics > docs/metrics.md}: the metrics reference page.
"""

from swarmd.metrics._definitions import reference

print(reference(), end="")
