"""The clock's schedule: `rq cron workers/cron.py` (or `rq cron workers.cron`)."""

from rq import cron

from service.queues import ALERTS, DEFAULT
from workers.alerts import sweep_escalations
from workers.broadcasts import sweep_broadcasts
from workers.sweeps import apply_retention, drain_outbox, sweep_sends

cron.register(sweep_sends, DEFAULT, interval=10, job_timeout=60)
# Escalation timers live in the database; this pass is what makes them fire on time.
cron.register(sweep_escalations, ALERTS, interval=1, job_timeout=30, result_ttl=10)
# Broadcasts due to start, and chunks whose worker died or whose RQ job was lost.
cron.register(sweep_broadcasts, DEFAULT, interval=5, job_timeout=60, result_ttl=30)
# Follow-up work written while Redis was down.
cron.register(drain_outbox, DEFAULT, interval=5, job_timeout=60, result_ttl=30)
# Bodies past RETENTION_DAYS, expired confirmation codes.
cron.register(apply_retention, DEFAULT, interval=3600, job_timeout=600, result_ttl=3600)
