"""`EMAIL_URL`: the mail backend and its server in one variable, read by the settings like
`DATABASE_URL` (docs/architecture.md, "Boundaries to outside systems").

    smtp://user:password@mail.example.com:587?tls=1   SMTP with STARTTLS
    smtps://user:password@mail.example.com:465         SMTP over TLS
    smtp://127.0.0.1:1025                              `make run`'s local server (devstack)
    console://                                         printed (the default without EMAIL_URL)
    locmem://                                          kept in memory (tests)
"""

from urllib.parse import parse_qs, unquote, urlsplit

BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}


def email_settings(url: str) -> dict:
    """The Django settings (EMAIL_BACKEND, EMAIL_HOST, ...) that `url` names."""
    parts = urlsplit(url)
    if parts.scheme not in BACKENDS:
        raise ValueError(
            f"EMAIL_URL: unknown scheme {parts.scheme!r}; use one of {sorted(BACKENDS)}"
        )
    config = {"EMAIL_BACKEND": BACKENDS[parts.scheme]}
    if parts.scheme in ("smtp", "smtps"):
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        config |= {
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": parts.scheme == "smtps",
            "EMAIL_USE_TLS": query.get("tls", "") in ("1", "true", "yes"),
            "EMAIL_TIMEOUT": int(query.get("timeout", "20")),
        }
    return config
