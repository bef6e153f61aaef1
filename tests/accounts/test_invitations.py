from django.core import mail

from accounts import services


def test_inviting_a_member_mails_their_link_after_commit(
    organisation, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        member = services.member_invite(
            organisation=organisation,
            email="New.Person@Example.com",
            name="New Person",
            role="user",
            actor=owner,
        )

    assert len(callbacks) == 1
    [message] = mail.outbox
    assert message.to == ["new.person@example.com"] and member.status == "invited"
    assert "/invitation/" in message.body


def test_seeding_can_invite_without_mail(organisation, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.member_invite(
            organisation=organisation,
            email="quiet@example.com",
            name="Quiet",
            role="user",
            actor=owner,
            notify=False,
        )
    assert mail.outbox == []
