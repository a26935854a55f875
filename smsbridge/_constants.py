"""Every default smsbridge uses, in one place."""

from __future__ import annotations

# --- HTTP timeouts (seconds). Never unbounded: a hung provider must not hang a bulk job.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
TOTAL_TIMEOUT = 60.0

# --- connection pool
CONNECTION_LIMIT = 100
CONNECTION_LIMIT_PER_HOST = 0  # 0 = no per-host cap beyond CONNECTION_LIMIT

# --- retries (only for requests that surely did not take effect; see transport/retry.py)
MAX_RETRIES = 2
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
# A server asking us to wait longer than this is reported (RateLimitError) instead of slept on.
MAX_RETRY_AFTER = 60.0
# The longest any server-given delay (Retry-After, retry-after-ms, X-RateLimit-Reset) is
# honoured for, however long the server asks: a provider's limiter is never paused longer than
# max(its period, this). Longer values are capped; nan, inf and negatives are ignored.
MAX_SERVER_DELAY = 300.0

# --- client-side rate limiting
# Default burst of a RateLimiter, in seconds of its rate (at least one request). A bucket of a
# whole second's budget, refilled continuously, lets out up to twice the limit within one of a
# server's fixed windows (TextUs counts per window) and draws 429s; a 50 ms burst does not.
RATE_LIMIT_BURST_SECONDS = 0.05

# --- phone numbers
DEFAULT_REGION = "US"
PHONE_CACHE_SIZE = 65_536

# --- user agent
USER_AGENT = "smsbridge-python/0.1.0"

# --- message bodies
# [I] inferred: neither provider's reference states a body limit. 1,600 characters is the
# common carrier ceiling for a concatenated SMS (10 segments); a longer body is refused before
# sending instead of being truncated, split or rejected by a carrier after it was accepted.
DEFAULT_MAX_BODY_LENGTH = 1600
TEXTUS_MAX_BODY_LENGTH = DEFAULT_MAX_BODY_LENGTH
TRACKDRIVE_MAX_BODY_LENGTH = DEFAULT_MAX_BODY_LENGTH

# --- TextUs
TEXTUS_BASE_URL = "https://next.textus.com"
TEXTUS_MEDIA_TYPE = "application/vnd.textus+jsonld"
TEXTUS_RATE_LIMIT_REQUESTS = 1000
TEXTUS_RATE_LIMIT_PERIOD = 300.0
# The send page says "under 525KB"; read strictly (decimal KB, 525,000 bytes) so a file TextUs
# might refuse is never sent: the largest accepted attachment is 524,999 bytes.
TEXTUS_MAX_ATTACHMENT_BYTES = 525_000 - 1
TEXTUS_MAX_ATTACHMENTS_PER_REQUEST = 1
TEXTUS_ATTACHMENT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/jpg",
        "image/gif",
        "application/rtf",
        "text/rtf",
        "application/pdf",
        "text/calendar",
        "text/vcard",
        "text/x-vcard",
        "text/directory",
    }
)

# Webhook integration actions TextUs documents, and the ones create_webhook subscribes by default.
TEXTUS_WEBHOOK_EVENTS = frozenset(
    {
        "message.received",
        "message.delivered",
        "message.failed",
        "message.unknown",
        "phone_call.completed",
        "contact.opted_out",
        "contact.opted_in",
        "contact.created",
    }
)
# The order of the integration's settings.actions flags in the documented create body.
TEXTUS_WEBHOOK_EVENT_ORDER = (
    "message.received",
    "message.delivered",
    "message.failed",
    "message.unknown",
    "phone_call.completed",
    "contact.opted_out",
    "contact.opted_in",
    "contact.created",
)
TEXTUS_DEFAULT_WEBHOOK_EVENTS = (
    "message.received",
    "message.delivered",
    "message.failed",
    "message.unknown",
    "contact.opted_out",
    "contact.opted_in",
)

# --- TrackDrive
TRACKDRIVE_BASE_URL_TEMPLATE = "https://{subdomain}.trackdrive.com/api/v1"
TRACKDRIVE_DEFAULT_PER_PAGE = 25
# Suggested waits attached to make_call guard errors.
TRACKDRIVE_REDIAL_WINDOW = 30.0
TRACKDRIVE_CPS_RETRY_AFTER = 1.0

# --- webhooks
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024
# Objects and arrays nested deeper than this in a webhook body are refused (400): no provider
# payload comes close, and deep nesting only serves to exhaust a parser's stack.
WEBHOOK_MAX_JSON_DEPTH = 32
# Delivery ids remembered in memory for de-duplication (webhooks arrive at least once).
WEBHOOK_DEDUP_SIZE = 10_000
# TrackDrive delivery webhooks are unsigned: an unguessable token in the URL path guards them.
WEBHOOK_TOKEN_BYTES = 32
# DeliveryTracker: default wait for a final status, and final events kept for late waiters.
DELIVERY_WAIT_TIMEOUT = 300.0
DELIVERY_TRACKER_MEMORY = 10_000
# A delivery webhook can beat the journal write of its message id (a fast carrier, or the send's
# HTTP answer still on its way): an unmatched delivery is retried after these delays, a bounded
# number of them at a time.
WEBHOOK_UNMATCHED_RETRY_DELAYS = (0.25, 1.0, 4.0, 15.0)
WEBHOOK_UNMATCHED_MAX_PENDING = 10_000

# --- dispatcher
DISPATCHER_CONCURRENCY = 32
# In-flight sends get this long to finish after a job is cancelled; then they become UNKNOWN.
DISPATCHER_CANCEL_GRACE = 10.0
# on_progress is called at most this often (seconds), plus once at the end of the job.
DISPATCHER_PROGRESS_INTERVAL = 0.2
# Prepared recipients queued ahead of the workers, per worker (bounds memory, keeps them busy).
DISPATCHER_QUEUE_PER_WORKER = 2
# Batch mode: recipients buffered while grouping by body, in multiples of batch_size.
DISPATCHER_BATCH_BUFFER = 4
# Resumed jobs look up earlier states this many recipients at a time.
DISPATCHER_LOOKUP_CHUNK = 256
# Quiet hours and scheduled sends sleep at most this long at a time, then look at the clock
# again (a clock that jumps, a suspended machine).
QUIET_HOURS_MAX_SLEEP = 60.0

# --- journal (SQLite)
JOURNAL_BUSY_TIMEOUT = 5.0
# While a job writes, the WAL is checkpointed off the event loop at most this often (seconds).
JOURNAL_CHECKPOINT_INTERVAL = 1.0
# Recipients per stored source chunk (what `smsbridge resume` replays).
JOURNAL_SOURCE_CHUNK = 1000
# How often a running job re-reads a suppression list changed by another process (seconds).
JOURNAL_SUPPRESSION_REFRESH = 1.0
# Reconciling an UNKNOWN send from a delivery report: an attempt may have started up to this
# many seconds after the event's time and still match (provider timestamps are often whole
# seconds, and clocks drift).
JOURNAL_RECONCILE_CLOCK_SKEW = 5.0
# A running job refreshes its heartbeat in the journal this often (seconds); another run of the
# job takes over from one whose heartbeat is older than JOURNAL_RUN_STALE_AFTER (any host), or
# at once when it was on this host and its process is gone.
JOURNAL_RUN_HEARTBEAT = 5.0
JOURNAL_RUN_STALE_AFTER = 60.0
