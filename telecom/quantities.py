"""How many of a thing may be bought or ordered at once: licences, devices; numbers typed in
ASCII digits only."""

import re

from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

MAX_QUANTITY = 1000


def validate_quantity(quantity) -> None:
    """A whole number from 1 to MAX_QUANTITY, or a ValidationError on `quantity` saying which
    bound it broke (`min_value`, `max_value`), as the forms and serializers say it."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise ValidationError(
            {
                "quantity": ValidationError(
                    "Quantity must be a whole number of at least 1.", code="min_value"
                )
            }
        )
    if quantity > MAX_QUANTITY:
        raise ValidationError(
            {
                "quantity": ValidationError(
                    f"Quantity must be at most {MAX_QUANTITY}.", code="max_value"
                )
            }
        )


# --- numbers typed by people and programs: ASCII digits only -----------------------------------
# Python's int() and Decimal() read any script's digits ('١٠', '１０', '1_0' are 10): a quantity,
# an amount or a duration must be written with 0-9, or it is refused with the field's "invalid"
# error (docs/security.md, "Input"). Forms and serializers that take numbers use these fields.

_INTEGER = re.compile(r"[+-]?[0-9]+(\.0*)?")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def _ascii_number(value, pattern) -> bool:
    """True unless `value` is text that is not a plain ASCII number."""
    return not isinstance(value, str) or bool(pattern.fullmatch(value.strip()))


class AsciiIntegerFormField(forms.IntegerField):
    def to_python(self, value):
        if value not in self.empty_values and not _ascii_number(value, _INTEGER):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AsciiDecimalFormField(forms.DecimalField):
    def to_python(self, value):
        if value not in self.empty_values and not _ascii_number(value, _DECIMAL):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AsciiIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if not _ascii_number(data, _INTEGER):
            self.fail("invalid")
        return super().to_internal_value(data)


class AsciiDecimalField(serializers.DecimalField):
    def to_internal_value(self, data):
        if not _ascii_number(data, _DECIMAL):
            self.fail("invalid")
        return super().to_internal_value(data)
