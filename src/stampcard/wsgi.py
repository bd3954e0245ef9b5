import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stampcard.settings")
django.setup(set_prefix=False)

# Django's handler, with the device scan's short way (stampcard.machine_requests).
from stampcard.machine_requests import MachineRequestsHandler  # noqa: E402

application = MachineRequestsHandler()
