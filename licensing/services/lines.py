"""Lines: assignees that are not people (room phone, shared line, …); a name is unique per kind."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.audit import audit_record
from accounts.models import Organisation
from licensing.models import (
    Licence,
    Line,
)
from telecom.locks import organisation_for_update

# --- lines, assignment, add-ons, extensions --------------------------------------------------


def _line_name_taken() -> ValidationError:
    return ValidationError(
        {
            "name": ValidationError(
                "A line of this kind with this name already exists.", code="unique"
            )
        }
    )


@transaction.atomic
def line_create(*, organisation: Organisation, kind: str, name: str, actor) -> Line:
    """A non-person assignee (room phone, shared line, ...); its name is unique per kind."""
    org = organisation_for_update(organisation.pk)
    line = Line(organisation=org, kind=kind, name=name.strip())
    line.full_clean(exclude=["organisation"], validate_unique=False, validate_constraints=False)
    if Line.objects.filter(organisation=org, kind=kind, name=line.name).exists():
        raise _line_name_taken()
    try:
        with transaction.atomic():
            line.save()
    except IntegrityError as exc:  # the unique constraint behind the check above
        raise _line_name_taken() from exc
    audit_record(
        organisation=org, actor=actor, action="line.created", target=line, changes={"kind": kind}
    )
    return line


@transaction.atomic
def line_update(*, line: Line, actor, kind: str | None = None, name: str | None = None) -> Line:
    """Rename a line or change its kind; the name stays unique per kind in the organisation."""
    org = organisation_for_update(line.organisation_id)
    line = Line.objects.select_for_update().get(pk=line.pk, organisation=org)
    before = {"kind": line.kind, "name": line.name}
    if kind is not None:
        line.kind = kind
    if name is not None:
        line.name = name.strip()
    line.full_clean(exclude=["organisation"], validate_unique=False, validate_constraints=False)
    if (
        Line.objects.filter(organisation=org, kind=line.kind, name=line.name)
        .exclude(pk=line.pk)
        .exists()
    ):
        raise _line_name_taken()
    try:
        with transaction.atomic():
            line.save(update_fields=["kind", "name"])
    except IntegrityError as exc:
        raise _line_name_taken() from exc
    audit_record(
        organisation=org,
        actor=actor,
        action="line.updated",
        target=line,
        changes={"before": before, "after": {"kind": line.kind, "name": line.name}},
    )
    return line


@transaction.atomic
def line_delete(*, line: Line, actor) -> None:
    """Delete a line. Like removing a member (rule 9), its licences stay: they become unassigned,
    keeping what they hold, ready to be given to another member or line."""
    org = organisation_for_update(line.organisation_id)
    line = Line.objects.select_for_update().get(pk=line.pk, organisation=org)
    licences = list(Licence.objects.select_for_update().filter(line=line).order_by("pk"))
    for licence in licences:
        licence.line = None
    Licence.objects.bulk_update(licences, ["line"])
    audit_record(
        organisation=org,
        actor=actor,
        action="line.deleted",
        target=line,
        changes={"licences_unassigned": [str(licence.pk) for licence in licences]},
    )
    line.delete()
