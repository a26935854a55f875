"""The request pipeline: one HTTP client per provider, timeouts, retries and their one judge.

``http`` (``HttpClient``, ``Response``, ``Timeouts``), ``retry`` (``RetryPolicy`` and
``decide``: retryable? maybe sent? how long to wait? how long a 429 holds the limiter?),
``budget`` (one retry budget per recipient), ``deadlines`` (cheap read timeouts),
``pagination`` and ``urls``.
"""
