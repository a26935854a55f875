"""The bulk engine: one job run's producer and workers, the outcome rule, reports and streams.

``dispatcher`` is the public ``Dispatcher`` (``from smsbridge import Dispatcher``); ``run``
the engine of one run; ``spec`` (what a job sends, and its journal JSON), ``template``,
``preparer`` (E.164, de-dup, opt-outs, render) and ``batcher`` make recipients ready;
``outcomes``, ``report``, ``stream`` and ``channel`` are what a run emits and how;
``budget``-aware ``failover`` is a provider over several providers.
"""
