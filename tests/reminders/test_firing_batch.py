"""Firing in batches (``reminders.firing_batch``): 10,000 reminders due at once are each
delivered once per channel over a real SMTP server; the batch gives the same rows as firing
one by one (quiet hours, digest, preferences, blocks, chosen channels, assignee); a crash
between the commit and the hand-over to the queue, and a re-run, send nothing twice."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Household, Membership, User
from pawfile.notifications.batch import SendRequest, notifications_send_many
from pawfile.notifications.choices import DeliveryStatus
from pawfile.notifications.models import (
    ChannelBlock,
    Delivery,
    Notification,
    Preference,
    RecipientState,
)
from pawfile.outbox import batch as outbox_batch
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from pawfile.outbox.services import FRESH_GRACE, outbox_sweep
from pawfile.pets.models import Pet
from pawfile.reminders import firing
from pawfile.reminders.models import Occurrence, Reminder
from tests.outbox.mailserver import ScriptedMailServer
from tests.reminders.conftest import utc
from tests.smtp import mail_to

pytestmark = pytest.mark.django_db

MADE = utc(2026, 1, 1, 0, 0)
FIRST = utc(2026, 1, 1, 8, 0)  # 09:00 in Madrid
DAY = dt.timedelta(days=1)


MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


class CountingMailServer(ScriptedMailServer):
    """A real SMTP server (aiosmtpd) that keeps each mail's recipients and ``Message-ID``
    only: parsing 10,000 mails in the test's own process would be most of its time. It
    offers ``PIPELINING``, as mainstream servers do (``outbox.pipelining``)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, str]] = []
        self.pipelining = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        found = MESSAGE_ID.search(raw if isinstance(raw, bytes) else raw.encode())
        mail_id = found.group(1).decode() if found else ""
        self.received.append((",".join(envelope.rcpt_tos), mail_id))
        return "250 OK"


@pytest.fixture
def smtp(settings) -> Iterator[CountingMailServer]:
    """The counting SMTP server, with Django's mail pointed at it; refusals scripted per
    test (``rcpt_replies``)."""
    server = CountingMailServer()  # aiosmtpd's INFO lines are off (tests/smtp.py)
    server.start()
    mail_to(settings, server.host, server.port)
    try:
        yield server
    finally:
        server.stop()


def _world(households: int, per_household: int) -> list[User]:
    """``households`` households of one owner and one pet each, every pet with
    ``per_household`` daily reminders due at ``FIRST`` (rows written in bulk, as a
    migration or an import would)."""
    users = User.objects.bulk_create(
        [User(email=f"owner{n}@example.org", name=f"Owner {n}") for n in range(households)]
    )
    homes = Household.objects.bulk_create([Household(name=f"Home {n}") for n in range(households)])
    Membership.objects.bulk_create(
        [
            Membership(household=h, user=u, role=Role.OWNER)
            for h, u in zip(homes, users, strict=True)
        ]
    )
    pets = Pet.objects.bulk_create(
        [Pet(household=h, name=f"Dog {h.pk}", species="dog") for h in homes]
    )
    Reminder.objects.bulk_create(
        [
            Reminder(
                household_id=pet.household_id,
                pet=pet,
                title=f"Pill {n}",
                start_date=dt.date(2026, 1, 1),
                start_time=dt.time(9, 0),
                timezone="Europe/Madrid",
                rule="FREQ=DAILY;INTERVAL=1",
                next_due_at=FIRST,
                next_fire_at=FIRST,
            )
            for pet in pets
            for n in range(per_household)
        ],
        batch_size=2000,
    )
    return users


@pytest.mark.slow  # 10,000 mails over SMTP: about a minute on an idle 2-core machine
def test_ten_thousand_due_at_once_are_each_delivered_once_per_channel(
    smtp: CountingMailServer, django_capture_on_commit_callbacks
) -> None:
    users = _world(households=100, per_household=100)
    with (
        django_capture_on_commit_callbacks(execute=False) as queued,
        CaptureQueriesContext(connection) as queries,
    ):
        count = firing.reminders_fire_due(now=FIRST)
        while count.fired < 10_000:  # a tick stops after TICK_SECONDS; the next goes on
            more = firing.reminders_fire_due(now=FIRST)
            assert more.fired, "a tick fired nothing"
            count.fired += more.fired
            count.failed += more.failed
            count.lost_race += more.lost_race
    assert count.fired == 10_000 and not count.failed and count.lost_race == 0
    # a few statements per chunk of 250, not ~25 per reminder
    assert len(queries) < 10_000 // firing.COMMIT_EVERY * 40
    assert len(queued) >= 10_000 // outbox_batch.TASK_IDS  # ids handed over in bulk
    assert firing.reminders_fire_due(now=FIRST + dt.timedelta(seconds=30)).fired == 0

    assert Occurrence.objects.filter(status="fired").count() == 10_000
    inbox = Notification.objects.filter(kind="reminder", in_inbox=True)
    assert inbox.count() == 10_000
    assert len(set(inbox.values_list("recipient_id", "event_key"))) == 10_000
    assert Delivery.objects.filter(channel="email", status=DeliveryStatus.QUEUED).count() == 10_000
    assert OutboxMessage.objects.filter(kind="notify.email").count() == 10_000
    revisions = RecipientState.objects.filter(user__in=users).values_list("revision", flat=True)
    assert len(revisions) == 100 and min(revisions) >= 1  # the live poll sees a change

    for hand_over in queued:  # what the commit hands to the queue: tasks of 25 ids each
        hand_over()

    assert len(smtp.received) == 10_000
    per_address = Counter(to for to, _id in smtp.received)
    assert set(per_address.values()) == {100} and len(per_address) == 100
    assert len({mail_id for _to, mail_id in smtp.received}) == 10_000
    assert OutboxMessage.objects.exclude(status=MessageStatus.SENT).count() == 0
    assert Delivery.objects.exclude(status=DeliveryStatus.SENT).count() == 0
    assert not OutboxMessage.objects.filter(attempts__gt=1).exists()


def _snapshot() -> list[tuple]:
    rows = []
    for n in Notification.objects.order_by("recipient_id", "event_key"):
        deliveries = sorted(
            (d.channel, d.status, d.release_at, d.outbox_key) for d in n.deliveries.all()
        )
        rows.append((n.recipient.email, n.event_key, n.title, n.body, n.link, n.pet_id,
                     n.in_inbox, tuple(deliveries)))  # fmt: skip
    outbox = sorted(OutboxMessage.objects.values_list("key", "kind", "status"))
    occurrences = sorted(Occurrence.objects.values_list("reminder_id", "due_at", "status"))
    schedules = sorted(Reminder.objects.values_list("pk", "next_due_at", "next_fire_at"))
    return [rows, outbox, occurrences, schedules]


def test_a_batch_gives_the_same_rows_as_one_by_one(make_reminder, cast, settings) -> None:
    """Quiet hours, the digest, a preference turned off, a blocked channel, a reminder's
    chosen channels, an assignee, a reminder settled ahead of time and one past the grace:
    firing the lot in one batch writes exactly what firing each alone writes."""
    settings.NOTIFY_DIGEST_HOUR = 8
    RecipientState.objects.create(user=cast.bob, quiet_start=dt.time(7), quiet_end=dt.time(12))
    dana = User.objects.create(email="dana@example.org", timezone="America/New_York")
    Membership.objects.create(household=cast.household, user=dana, role=Role.CARETAKER)
    RecipientState.objects.create(user=dana, digest=True)
    Preference.objects.create(user=cast.alice, kind="reminder", channel="email", enabled=False)
    erin = User.objects.create(email="erin@example.org", locale="es")
    Membership.objects.create(household=cast.household, user=erin, role=Role.CARETAKER)
    ChannelBlock.objects.create(user=erin, channel="email")
    fay = User.objects.create(email="fay@example.org")  # nothing special: mailed at once
    Membership.objects.create(household=cast.household, user=fay, role=Role.CARETAKER)
    made = [
        make_reminder(now=MADE),
        make_reminder(now=MADE, channels=["inapp"], title="Walk"),
        make_reminder(now=MADE, assignee_id=cast.bob.pk, title="Brush"),
        make_reminder(now=MADE, lead_minutes=30, start_time=dt.time(9, 30), title="Lead"),
        make_reminder(now=MADE, rule="", start_date=dt.date(2026, 1, 1), title="Once"),
        make_reminder(now=MADE, title="Done early"),
        make_reminder(now=MADE - 3 * DAY, start_date=dt.date(2025, 12, 29), title="Late"),
    ]
    from pawfile.reminders import services

    services.reminder_done(actor=cast.alice, reminder=made[5], now=MADE)
    Reminder.objects.filter(pk=made[6].pk).update(
        next_due_at=FIRST - 2 * DAY, next_fire_at=FIRST - 2 * DAY
    )
    # Both runs start from the same rows: the one-by-one run first, then undone.
    before = {r.pk: (r.next_due_at, r.next_fire_at) for r in Reminder.objects.all()}
    settled = set(Occurrence.objects.values_list("pk", flat=True))

    def undo() -> None:
        Notification.objects.all().delete()
        OutboxMessage.objects.all().delete()
        Occurrence.objects.exclude(pk__in=settled).delete()
        for pk, (due, fire) in before.items():
            Reminder.objects.filter(pk=pk).update(next_due_at=due, next_fire_at=fire)

    for reminder_id in sorted(before):
        # as the tick does: again while it moves (after missed ones, the next may be due)
        while firing.reminder_fire(reminder_id=reminder_id, now=FIRST + dt.timedelta(minutes=1)):
            pass
    alone = _snapshot()
    undo()
    count = firing.reminders_fire_due(now=FIRST + dt.timedelta(minutes=1))
    assert _snapshot() == alone
    # done early: nothing sent; late: two missed, then today's sent
    assert count.fired == 6 and count.missed == 2
    statuses = Counter(delivery[1] for row in alone[0] for delivery in row[7])
    assert statuses[DeliveryStatus.HELD] and statuses[DeliveryStatus.QUEUED]


def test_a_crash_between_commit_and_hand_over_then_a_rerun_sends_each_once(
    smtp: CountingMailServer, django_capture_on_commit_callbacks
) -> None:
    """The tick commits its rows, then the process dies before the queue gets the ids (the
    on-commit hand-over never runs). Running the tick again, and the batch's notify step
    again, adds nothing; the outbox sweeper delivers each mail once."""
    users = _world(households=3, per_household=20)
    with django_capture_on_commit_callbacks(execute=False) as lost:
        assert firing.reminders_fire_due(now=FIRST).fired == 60
    assert lost  # the hand-over that the crash lost
    rows = _snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        assert firing.reminders_fire_due(now=FIRST).fired == 0
        requests = [
            SendRequest(recipient=users[0], kind="reminder", title="Pill 0", body="again",
                        event_key=n.event_key)
            for n in Notification.objects.filter(recipient=users[0])
        ]  # fmt: skip
        assert notifications_send_many(requests) == []
        again = outbox_batch.outbox_enqueue_many(
            [outbox_batch.NewMessage(kind=m.kind, key=m.key, payload={"deliveries": []})
             for m in OutboxMessage.objects.all()]
        )  # fmt: skip
        assert sorted(again.values()) == sorted(OutboxMessage.objects.values_list("pk", flat=True))
    assert _snapshot() == rows and smtp.received == []

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep(now=dt.datetime.now(dt.UTC)) == 0  # its own task may yet come
    outbox_sweep(now=dt.datetime.now(dt.UTC) + FRESH_GRACE + dt.timedelta(seconds=1))
    assert len(smtp.received) == 60
    assert len({mail_id for _to, mail_id in smtp.received}) == 60
    outbox_sweep(now=dt.datetime.now(dt.UTC) + 2 * FRESH_GRACE)
    assert len(smtp.received) == 60
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_one_connection_for_a_batch_and_a_refusal_in_the_middle(
    smtp: CountingMailServer, django_capture_on_commit_callbacks
) -> None:
    """Ten mails through one ``outbox_deliver_many``: a 451 for the fourth is retried later
    (the rest are sent, the connection is opened afresh after the refusal); a row that is
    already sent, or leased by another worker, is not sent by this call."""
    _world(households=10, per_household=1)
    with django_capture_on_commit_callbacks(execute=False):
        firing.reminders_fire_due(now=FIRST)
    ids = list(OutboxMessage.objects.order_by("pk").values_list("pk", flat=True))
    smtp.rcpt_replies = [None, None, None, "451 4.7.1 Try again later"]
    outcomes = outbox_batch.outbox_deliver_many(message_ids=ids)
    assert outcomes == {MessageStatus.SENT: 9, MessageStatus.PENDING: 1}
    assert len(smtp.received) == 9
    retried = OutboxMessage.objects.get(status=MessageStatus.PENDING)
    assert retried.pk == ids[3] and retried.attempts == 1
    assert outbox_batch.outbox_deliver_many(message_ids=ids) == {"skipped": 10}
    assert len(smtp.received) == 9


def test_the_lookups_of_what_exists_answer_as_the_in_lists_did(make_reminder, cast) -> None:
    """The tick's two reads of what exists already (``firing_batch._settled``: occurrences
    settled ahead of time; ``notifications.batch.sent_pairs``: events notified before),
    which PostgreSQL answers with one index probe per pair, name exactly the asked pairs
    that have a row: not a pair whose halves each have a row with something else."""
    from pawfile.notifications.batch import sent_pairs
    from pawfile.reminders import firing_batch

    one, two = make_reminder(now=MADE), make_reminder(now=MADE, title="Walk")
    later = FIRST + DAY
    Occurrence.objects.create(reminder=one, due_at=FIRST, status="done", at=MADE)
    Occurrence.objects.create(reminder=two, due_at=later, status="skipped", at=MADE)

    def plan(reminder: Reminder, due: dt.datetime) -> Any:
        return firing_batch._Plan(reminder=reminder, seen=due, due=due)

    asked = [plan(one, FIRST), plan(one, later), plan(two, FIRST), plan(two, later)]
    assert firing_batch._settled(asked) == {(one.pk, FIRST), (two.pk, later)}
    assert firing_batch._settled([plan(one, later), plan(two, FIRST)]) == set()

    for user, key in ((cast.alice, "event:a"), (cast.bob, "event:b")):
        Notification.objects.create(recipient=user, kind="reminder", title="t", event_key=key)
    pairs = {
        (cast.alice.pk, "event:a"), (cast.alice.pk, "event:b"),
        (cast.bob.pk, "event:a"), (cast.bob.pk, "event:b"), (cast.carol.pk, "event:c"),
    }  # fmt: skip
    assert sent_pairs(pairs) == {(cast.alice.pk, "event:a"), (cast.bob.pk, "event:b")}
    assert sent_pairs({(cast.alice.pk, "event:b"), (cast.bob.pk, "event:a")}) == set()
    assert sent_pairs(set()) == set()
