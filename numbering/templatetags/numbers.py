"""Numbers on console pages as people write them: `{{ n.e164|phone }}` → "+33 6 20 00 00 03"
(the same format as the numbers list and the webapp)."""

from django import template

from numbering.phone import format_for_people

register = template.Library()


@register.filter
def phone(value) -> str:
    """An E.164 number (or anything with `.e164`) formatted for people; anything else as it is."""
    e164 = getattr(value, "e164", value)
    if not e164:
        return ""
    return format_for_people(str(e164))
