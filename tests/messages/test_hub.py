"""The hub's pieces that need no database: what a connection queues, drops and is told."""

from __future__ import annotations

from reelm.live.events import Event, EventType
from reelm.messages.live import (
    QUEUE_FRAMES,
    TRY_AGAIN_LATER,
    Subscriber,
    TypingGate,
    frame,
    notice_frame,
)


def test_events_survive_the_notification_payload() -> None:
    event = Event(EventType.READ, (3, 1, 2), conversation_id=10, seq=7, actor_id=3)
    assert Event.parse(event.payload()) == event
    assert len(Event(EventType.MESSAGE, tuple(range(10**17, 10**17 + 32)), 1, 2, 3).payload()) < 8000


def test_notice_frames_carry_ids_as_strings_and_are_never_floored() -> None:
    item = notice_frame(Event(EventType.READ, (1,), conversation_id=10, seq=7, actor_id=3))
    assert item.text == '{"type":"read","conversation_id":"10","user_id":"3","seq":7}'
    assert (item.conversation_id, item.seq) == (None, None)


def test_a_connection_drops_what_its_catch_up_already_sent() -> None:
    subscriber = Subscriber(user_id=1, realm="us")
    subscriber.floors[10] = 5
    assert not subscriber.is_new(frame({"type": "message"}, conversation_id=10, seq=5))
    assert subscriber.is_new(frame({"type": "message"}, conversation_id=10, seq=6))
    assert subscriber.is_new(frame({"type": "message"}, conversation_id=11, seq=1))


def test_a_connection_too_far_behind_is_closed_rather_than_buffered() -> None:
    subscriber = Subscriber(user_id=1, realm="us")
    for n in range(QUEUE_FRAMES + 1):
        subscriber.offer(frame({"type": "message", "n": n}, conversation_id=1, seq=n + 1))
    assert subscriber.close_code == TRY_AGAIN_LATER
    assert subscriber.queue.qsize() == 1
    assert subscriber.queue.get_nowait() is None  # nothing more is sent: the client reconnects and catches up
    subscriber.offer(frame({"type": "late"}))
    assert subscriber.queue.empty()


def test_typing_is_passed_on_at_most_every_few_seconds_per_conversation() -> None:
    gate = TypingGate(every_s=60)
    assert gate.allow(1)
    assert not gate.allow(1)
    assert gate.allow(2)
