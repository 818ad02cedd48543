import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Django is set up: load the catalog and templates, then freeze the heap (front/warmup.py).
from front.warmup import prepare_process  # noqa: E402

prepare_process()
