from typing import Any

from accounts.models import AuditEvent


def audit_record(
    *, organisation, actor, action: str, target: Any, changes: dict | None = None
) -> AuditEvent:
    """Write one audit row in the caller's transaction, so it commits or rolls back with it."""
    return AuditEvent.objects.create(
        organisation=organisation,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor) if actor is not None else "system",
        action=action,
        target_type=target._meta.model_name,
        target_id=str(target.pk),
        target_label=str(target)[:300],
        changes=changes or {},
    )


def audit_record_many(*, organisation, actor, action: str, targets, changes=None) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organisation=organisation,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=str(actor) if actor is not None else "system",
            action=action,
            target_type=t._meta.model_name,
            target_id=str(t.pk),
            target_label=str(t)[:300],
            changes=changes or {},
        )
        for t in targets
    )
