"""How many of a thing may be bought or ordered at once: licences, devices."""

from django.core.exceptions import ValidationError

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
