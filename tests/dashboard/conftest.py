import contextvars

import pytest
from django.test import Client


class FreshContextClient(Client):
    """Sends each request from an empty context, as a real server would.

    The tests themselves run with scopes disabled; without this, that state would leak into
    the view and hide a missing tenant scope.
    """

    def request(self, **request):
        return contextvars.Context().run(super().request, **request)


@pytest.fixture
def client():
    return FreshContextClient()
