"""The documented ranges of every number a user gives us (config fields, CLI options).

One table, used by the config models and the CLI alike, so that ``check-config`` and a
command line agree on what is accepted. The limits are far beyond real use and close
enough to stop what would hang or exhaust memory (a 1 ms step over a week, a group of
10^20 instances, a boot delay of 270 years). README's "Input limits" lists them.
"""

from __future__ import annotations

from datetime import timedelta

MAX_DURATION = timedelta(days=3650)  # any duration string
MIN_STEP = timedelta(seconds=1)  # simulation step, tick interval
MAX_STEP = timedelta(days=1)
MAX_BOOT_DELAY = timedelta(days=1)
MAX_WINDOW = timedelta(days=90)  # lookbacks, training windows, horizons
MAX_TIMEOUT = timedelta(hours=1)

MAX_GROUP_SIZE = 100_000  # instances in one group
MAX_HOSTS = 100_000  # hosts in a simulated cloud
MAX_CAPACITY = 1e12  # requests per second per instance
MAX_PRICE = 1e6  # per instance-hour
MAX_SEED = 2**32 - 1
MAX_SPEEDUP = 100_000.0  # simulated seconds per real second in the daemon
MAX_HORIZON_STEPS = 100_000  # steps one forecast may cover
MAX_TRACE_VALUE = 1e15  # one trace sample, before scaling
MAX_NODE_CPU_MILLI = 10_000_000  # one GPU-fleet node or pod: 10,000 cores
MAX_NODE_MEMORY_MIB = 1024**3  # one GPU-fleet node or pod: 1 PiB
MAX_POD_SECONDS = 1e10  # a pod list's creation/deletion times (about 317 years)
