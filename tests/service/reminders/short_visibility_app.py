"""The service's Celery app with a 2-second Redis visibility timeout, for the worker-kill tests.

A message a SIGKILLed worker took comes back once the visibility timeout passes: an hour and more in
production (it must outlast any task), seconds here so a test can watch another worker finish it.
"""

from service.celery_app import app

app.conf.broker_transport_options = {**app.conf.broker_transport_options, "visibility_timeout": 2}

__all__ = ["app"]
