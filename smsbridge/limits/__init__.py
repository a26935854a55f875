"""Rate limiting: the :class:`Limiter` protocol every limiter implements, and its permits."""

from .protocol import Limiter, Permit

__all__ = ["Limiter", "Permit"]
