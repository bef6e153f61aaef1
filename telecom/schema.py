"""The OpenAPI schema's error responses (docs/api.md "Errors"): every operation documents the
statuses it can answer besides success, in the product's error format, so that clients see them
in `/api/v1/schema/` and the docs pages. `tests/security/test_input_ranges.py` validates it."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

_FIELD_ERROR = inline_serializer(
    "FieldError",
    {"code": serializers.CharField(), "message": serializers.CharField()},
)
ERROR = inline_serializer(
    "ErrorResponse",
    {
        "code": serializers.CharField(help_text="`invalid` (400) or the rule's code (409)."),
        "detail": serializers.CharField(help_text="A sentence for a person."),
        "fields": serializers.DictField(
            child=serializers.ListField(child=_FIELD_ERROR),
            required=False,
            help_text="400 only: each field's errors.",
        ),
    },
)
_WHEN = {
    "400": "The input is wrong: `fields` names each field's errors.",
    "401": "Not signed in (no token, or a token that expired or was revoked).",
    "403": "Signed in, but the role may not do this.",
    "404": "It does not exist, or it belongs to another organisation.",
    "409": "A rule refused it; nothing changed (`code` says which).",
}


class ProductAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        writes = self.method not in ("GET", "HEAD", "OPTIONS")
        public = not self.get_auth()
        codes = []
        if writes:
            codes.append("400")
        if not public:  # 404: an id of another organisation, a page past the end
            codes += ["401", "403", "404"]
        if writes and not public:
            codes.append("409")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ERROR, description=_WHEN[code]), code
                )
        return responses
