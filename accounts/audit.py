from typing import Any

from accounts.models import AuditEvent
from telecom.clients import current_client_address


def audit_event(
    *, organisation, actor, action: str, target: Any, changes: dict | None = None
) -> AuditEvent:
    """One audit row, unsaved: for callers that write many at once."""
    return AuditEvent(
        organisation=organisation,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor) if actor is not None else "system",
        action=action,
        target_type=target._meta.model_name,
        target_id=str(target.pk),
        target_label=str(target)[:300],
        changes=changes or {},
        client_address=current_client_address(),
    )


def audit_record(
    *, organisation, actor, action: str, target: Any, changes: dict | None = None
) -> AuditEvent:
    """Write one audit row in the caller's transaction, so it commits or rolls back with it."""
    event = audit_event(
        organisation=organisation, actor=actor, action=action, target=target, changes=changes
    )
    event.save(force_insert=True)
    return event


def audit_record_many(*, organisation, actor, action: str, targets, changes=None) -> None:
    AuditEvent.objects.bulk_create(
        audit_event(
            organisation=organisation, actor=actor, action=action, target=t, changes=changes
        )
        for t in targets
    )
