"""The test suite's settings (`pyproject.toml`): base, with what only tests want."""

from .base import *  # noqa: F403

# Hashing every factory user's password with PBKDF2 costs seconds per test; tests don't need a
# slow hash (production keeps Django's default).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Throttle counts stay in each test process (not in the Redis the job tests' workers share) and
# are cleared before every test (tests/conftest.py), so one test's requests never throttle
# another's.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
