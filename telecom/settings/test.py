"""The test suite's settings (`pyproject.toml`): base, with what only tests want."""

from .base import *  # noqa: F403

# Hashing every factory user's password with PBKDF2 costs seconds per test; tests don't need a
# slow hash (production keeps Django's default).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Throttle counts stay in each test process (not in the Redis the job tests' workers share) and
# are cleared before every test (tests/conftest.py), so one test's requests never throttle
# another's.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Test data need not outlive a crash of the database server: a commit returns without waiting
# for its WAL to reach the disk (races and worker tests commit thousands of times). Only this
# suite's connections: the server's own settings (fsync, and `make run`'s data on the embedded
# server) are left as they are.
DATABASES["default"]["OPTIONS"] = {  # noqa: F405
    **DATABASES["default"].get("OPTIONS", {}),  # noqa: F405
    "options": "-c synchronous_commit=off",
}
