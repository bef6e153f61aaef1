"""API bases: pagination, the error format of API.md, tenancy and role checks.

Every viewset of the product derives from `TenantViewSet`: its queryset is scoped to the caller's
organisation once, here, so another organisation's id is a 404 wherever it is used.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.roles import Cap, has_capability
from telecom.errors import Conflict, DomainError


def _field_errors(detail) -> dict:
    """DRF's nested error detail → {"field": [{"code", "message"}]}."""
    if isinstance(detail, dict):
        return {
            field: [
                {"code": getattr(item, "code", "invalid"), "message": str(item)}
                for item in (errors if isinstance(errors, list) else [errors])
                if not isinstance(item, dict)
            ]
            or [{"code": "invalid", "message": str(errors)}]
            for field, errors in detail.items()
        }
    if isinstance(detail, list):
        return {
            "non_field_errors": [
                {"code": getattr(item, "code", "invalid"), "message": str(item)} for item in detail
            ]
        }
    return {
        "non_field_errors": [{"code": getattr(detail, "code", "invalid"), "message": str(detail)}]
    }


def _django_validation_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail = {
            field: [
                exceptions.ErrorDetail(str(m), code=e.code or "invalid")
                for e in errs
                for m in e.messages
            ]
            for field, errs in exc.error_dict.items()
        }
    else:
        detail = [
            exceptions.ErrorDetail(m, code=e.code or "invalid")
            for e in exc.error_list
            for m in e.messages
        ]
    return exceptions.ValidationError(detail)


def exception_handler(exc, context):
    """Map errors to API.md's format: 400 with fields, 409 for business rules, never a 500."""
    if isinstance(exc, IntegrityError):
        exc = Conflict()
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "detail": exc.detail}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = _django_validation_to_drf(exc)
    elif isinstance(exc, ObjectDoesNotExist | Http404):
        # The same "Not found." whatever the model, in the error format of API.md.
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        first = next(iter(fields.values()))[0]["message"] if fields else "Invalid input."
        response.data = {"code": "invalid", "detail": first, "fields": fields}
    elif isinstance(exc, exceptions.APIException):
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = {"code": code, "detail": str(detail or exc.detail)}
    return response


class HasCapability(permissions.BasePermission):
    """Grants by the role matrix: a view names `capability` or a per-action `capabilities` map.

    Reads on a tenant viewset are allowed to every member (the queryset narrows what they see);
    writes need the capability of the action.
    """

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not user.is_superuser and user.organisation_id is None:
            return False
        cap = view.required_capability(request)
        return cap is None or has_capability(user, cap)


class TenantViewSet(viewsets.GenericViewSet):
    """Scopes `queryset` to the caller's organisation (platform staff see all).

    Subclasses set `tenant_field` when the path to the organisation is not `organisation`, and
    `capabilities = {"action": Cap.X}` (with "read"/"write" as fallbacks).
    """

    permission_classes = [HasCapability]
    tenant_field = "organisation"
    capabilities: dict[str, Cap | None] = {}

    @property
    def organisation(self):
        return self.request.user.organisation

    def caller_organisation(self):
        """The caller's organisation, for collection-level actions (buy, sign a member up...).

        Platform staff belong to none; they act on an organisation's objects by id, or in the
        administration console, so a collection action without one is a 404.
        """
        organisation = self.request.user.organisation
        if organisation is None:
            raise exceptions.NotFound("You do not belong to an organisation.")
        return organisation

    def required_capability(self, request) -> Cap | None:
        action = getattr(self, "action", None)
        if action in self.capabilities:
            return self.capabilities[action]
        if request.method in permissions.SAFE_METHODS:
            return self.capabilities.get("read")
        return self.capabilities.get("write")

    @property
    def is_schema_view(self) -> bool:
        """drf-spectacular introspects viewsets with an anonymous request: show no rows."""
        return getattr(self, "swagger_fake_view", False)

    def scope(self, queryset):
        user = self.request.user
        if self.is_schema_view:
            return queryset.none()
        if user.is_superuser:
            return queryset
        return queryset.filter(**{self.tenant_field: user.organisation_id})

    def get_queryset(self):
        return self.scope(super().get_queryset())


class TenantPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id in a request body, resolved within the caller's organisation only.

    DRF accepts any row of the queryset by default; this narrows it, so another organisation's
    id reads as "does not exist" (400) and never reaches a service.
    """

    def __init__(self, *, tenant_field: str = "organisation", **kwargs):
        self.tenant_field = tenant_field
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        if request is None or request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.tenant_field: request.user.organisation_id})


class RejectUnknownFieldsMixin:
    """For serializers of changes (PATCH): a field the caller may not change, or that does not
    exist, is a 400 naming it (code `read_only`) instead of being silently ignored."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = sorted(set(data.keys()) - writable)
            if refused:
                raise exceptions.ValidationError(
                    {
                        name: [
                            exceptions.ErrorDetail(
                                f"{name} cannot be changed here.", code="read_only"
                            )
                        ]
                        for name in refused
                    }
                )
        return super().to_internal_value(data)
