from django import template

from numbering.phone import MMS, SMS, VOICE, format_for_people

register = template.Library()

COUNTRY_NAMES = {
    "BE": "Belgium",
    "DE": "Germany",
    "ES": "Spain",
    "FR": "France",
    "GB": "United Kingdom",
    "IT": "Italy",
    "US": "United States",
}
CAPABILITY_LABELS = {VOICE: "Voice", SMS: "SMS", MMS: "MMS"}


@register.filter
def phone(value: str) -> str:
    """+33612345678 → "+33 6 12 34 56 78"; a sender id ("BANK") is shown as it is."""
    value = str(value or "")
    return format_for_people(value) if value.startswith("+") else value


@register.filter
def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code, code)


@register.filter
def capability_labels(capabilities) -> list[tuple[str, str, bool]]:
    """(code, label, available) for voice, SMS and MMS, in that order."""
    return [(code, label, code in capabilities) for code, label in CAPABILITY_LABELS.items()]


@register.filter
def can_text(number) -> bool:
    return SMS in number.capabilities


@register.filter
def duration(seconds) -> str:
    """125 → "2 min 05 s"; 0 or None → "0 s"."""
    if not seconds:
        return "0 s"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@register.filter
def iso_duration(seconds) -> str:
    """For `<time datetime=...>`: 125 → "PT125S"."""
    return f"PT{int(seconds or 0)}S"


@register.filter
def error_items(errors) -> list[tuple[str, str]]:
    """A form's error list as (code, text) pairs: the page shows the text, tests read the code."""
    return [(error.code or "invalid", " ".join(error.messages)) for error in errors.as_data()]
