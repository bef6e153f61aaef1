"""Mass configuration of phone-system extensions through the API (API.md "Licences", rule 23).

`POST /api/v1/licences/mass-configuration/` multipart `{"file", "dry_run"}`: any bad row is a 400
`{"code": "invalid", "detail", "rows": [{"row", "column", "code", "message"}]}` and nothing is
applied; otherwise 200 `{"applied", "summary"}`. `GET .../sample/` is the sample CSV.

Included from licensing/api/urls.py before the licences router, whose detail route would
otherwise read `mass-configuration` as a licence id.
"""

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.response import Response

from accounts.roles import Cap
from licensing.mass_config import (
    MassConfigurationInvalid,
    Report,
    mass_config_apply,
    mass_config_validate,
    sample_csv,
)
from telecom.api import TenantViewSet
from telecom.money import AMOUNT_MAX_DIGITS


class MassConfigurationSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # reported as the file error `empty_file`
        help_text="CSV: Ext Key, Number, User, Addon license 1 … N.",
    )
    dry_run = serializers.BooleanField(
        default=True, help_text="true (the default): report only; false: apply."
    )


class MassConfigurationSummarySerializer(serializers.Serializer):
    extensions = serializers.IntegerField()
    licences_assigned = serializers.IntegerField()
    numbers_assigned = serializers.IntegerField()
    addons_attached = serializers.IntegerField()
    addons_detached = serializers.IntegerField()
    licences_purchased = serializers.IntegerField()
    licences_restored = serializers.IntegerField(
        help_text="Licences scheduled for removal restored at no charge."
    )
    total = serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)
    currency = serializers.CharField()


class MassConfigurationResultSerializer(serializers.Serializer):
    applied = serializers.BooleanField()
    summary = MassConfigurationSummarySerializer()
    invoice = serializers.UUIDField(allow_null=True, help_text="The purchase's pro rata invoice.")


class MassConfigurationErrorRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="null: the whole file.")
    column = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class MassConfigurationInvalidSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    rows = MassConfigurationErrorRowSerializer(many=True)


def _invalid(report: Report) -> Response:
    return Response(
        {
            "code": "invalid",
            "detail": f"The file has {len(report.errors)} error(s); nothing was applied.",
            "rows": [error.as_dict() for error in report.errors],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class MassConfigurationViewSet(TenantViewSet):
    """The import, for the caller's organisation; LICENCES_MANAGE (owner and admin)."""

    serializer_class = MassConfigurationSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]
    pagination_class = None
    filter_backends: list = []
    capabilities = {"create": Cap.LICENCES_MANAGE, "sample": Cap.LICENCES_MANAGE}

    @extend_schema(
        request={"multipart/form-data": MassConfigurationSerializer},
        responses={200: MassConfigurationResultSerializer, 400: MassConfigurationInvalidSerializer},
    )
    def create(self, request):
        serializer = MassConfigurationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organisation = self.caller_organisation()
        upload = serializer.validated_data["file"]
        if serializer.validated_data["dry_run"]:
            report = mass_config_validate(organisation=organisation, file_bytes=upload)
            if not report.ok:
                return _invalid(report)
            summary, applied = report.summary, False
        else:
            try:
                summary = mass_config_apply(
                    organisation=organisation, actor=request.user, file_bytes=upload
                )
            except MassConfigurationInvalid as exc:
                return _invalid(exc.report)
            applied = True
        invoice = summary.invoice.pk if summary.invoice is not None else None
        return Response({"applied": applied, "summary": summary.as_dict(), "invoice": invoice})

    @extend_schema(request=None, responses={(200, "text/csv"): OpenApiTypes.STR})
    def sample(self, request):
        """The sample file: the requirement's header and four rows."""
        response = HttpResponse(sample_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="mass-configuration-sample.csv"'
        return response


urlpatterns = [
    path(
        "",
        MassConfigurationViewSet.as_view({"post": "create"}),
        name="licence-mass-configuration",
    ),
    path(
        "sample/",
        MassConfigurationViewSet.as_view({"get": "sample"}),
        name="licence-mass-configuration-sample",
    ),
]
