"""The clock's schedule: `rq cron workers/cron.py` (or `rq cron workers.cron`).

The sweeps are the guarantee behind every RQ job, so they go on `alerts`, the
queue every worker serves first and the `pager` process serves alone. On
`default` they waited behind every queued broadcast chunk: during a long
broadcast nothing re-drove, reported or paused, and rq cron piled up copies
to run once the broadcast was over. Each pass is a few short queries.
"""

from rq import cron

from service.queues import ALERTS, DEFAULT
from workers.alerts import sweep_escalations
from workers.broadcasts import sweep_broadcasts
from workers.sweeps import (
    apply_retention,
    catch_up_callbacks,
    drain_outbox,
    look_up_unknowns,
    sweep_sends,
)

# Escalation timers live in the database; this pass is what makes them fire on time.
cron.register(sweep_escalations, ALERTS, interval=1, job_timeout=30, result_ttl=10)
# Broadcasts due to start, and chunks whose worker died or whose RQ job was lost.
cron.register(sweep_broadcasts, ALERTS, interval=5, job_timeout=60, result_ttl=30)
# Follow-up work written while Redis was down.
cron.register(drain_outbox, ALERTS, interval=5, job_timeout=60, result_ttl=30)
# Claims whose worker died (reported unknown), one-off texts whose job was lost.
cron.register(sweep_sends, ALERTS, interval=10, job_timeout=60, result_ttl=30)
# Status callbacks the ledger missed: on alerts, as a failed page's callback is what
# lets the escalation skip that responder.
cron.register(catch_up_callbacks, ALERTS, interval=10, job_timeout=60, result_ttl=30)
# Unknown outcomes, asked of the provider: not urgent, and each is an HTTP call that
# pages should not wait behind, so on default.
cron.register(look_up_unknowns, DEFAULT, interval=30, job_timeout=300, result_ttl=60)
# Bodies past RETENTION_DAYS, expired confirmation codes: hourly, and a pass that may
# take a while, so it waits its turn behind broadcasts rather than in front of pages.
cron.register(apply_retention, DEFAULT, interval=3600, job_timeout=600, result_ttl=3600)
