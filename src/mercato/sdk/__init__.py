"""The Python client for Mercato's open platform, which speaks TOP's wire protocol and so
works against Taobao's gateway too: ``TopClient`` for ``/router/rest``."""

from mercato.sdk.client import TopClient, TopError, TopRetryableError

__all__ = ["TopClient", "TopError", "TopRetryableError"]
