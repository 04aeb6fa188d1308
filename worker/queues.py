"""The Celery queues' names (no Celery import: the web reads their depth for /metrics)."""

QUEUE = "broadsheet"
TRANSACTIONAL_QUEUE = "broadsheet.transactional"
SCHEDULER_QUEUE = "broadsheet.scheduler"
# The order matters: a worker takes from the first non-empty queue. The scheduler's repair
# and confirmations never wait behind a campaign's batches.
QUEUES = f"{SCHEDULER_QUEUE},{TRANSACTIONAL_QUEUE},{QUEUE}"
ALL = (SCHEDULER_QUEUE, TRANSACTIONAL_QUEUE, QUEUE)
