"""The base of every refusal a service can give.

A refusal has a stable machine ``code`` (for the API, the scanner and tests) and a sentence
in the user's language (``message``), which the scanner or page shows as it is.
"""

from typing import Any

from django.utils.functional import Promise


class Refusal(Exception):
    code: str = "refused"
    default_message: str | Promise = ""
    http_status: int = 409

    def __init__(self, message: str | Promise | None = None, **params: Any) -> None:
        self.params = params
        self._message = message if message is not None else self.default_message
        super().__init__(self.code)

    @property
    def message(self) -> str:
        """The sentence in the active language (plural forms follow the numbers in it)."""
        return str(self._message % self.params) if self.params else str(self._message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
