"""The clock's schedule: `rq cron workers/cron.py` (or `rq cron workers.cron`)."""

from rq import cron

from service.queues import DEFAULT
from workers.sweeps import sweep_sends

cron.register(sweep_sends, DEFAULT, interval=10, job_timeout=60)
