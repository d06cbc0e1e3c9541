"""Rapid response: alerts, pages, reply codes, escalation (ALERT, REPORT, nA/nC/nE, ONCALL).

Importing the package hooks the alert engine into the sending core: pages for
a closed alert (or to someone gone off call) are skipped at claim time, and a
status callback that moves a page's ledger row settles the page's outcome.
"""

from service.domain import delivery, sending
from service.domain.alerts import outcomes
from service.domain.alerts.paging import PAGE

if outcomes.skip_closed_or_off_call not in sending.SKIP_CHECKS:
    sending.SKIP_CHECKS.append(outcomes.skip_closed_or_off_call)
delivery.listen(PAGE, outcomes.on_ledger_status)
