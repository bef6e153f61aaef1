"""The settings, one module per environment; `DJANGO_SETTINGS_MODULE` picks one.

- `telecom.settings.base`: what every environment shares, from the environment with local
  defaults. `make run`, `manage.py`, gunicorn and Celery use it unless told otherwise.
- `telecom.settings.test`: the test suite's (`pyproject.toml`): a fast password hash, throttle
  counts kept in each test process.
- `telecom.settings.production`: base plus what a deployment must enforce (HTTPS, secure
  cookies, HSTS, a secret key of its own); `manage.py check --deploy` passes with it.

None of them starts anything on import: `DATABASE_URL` must be set (README.md, "Configuration").
"""
