"""The MQTT feed: subscribe, batch, ingest, and acknowledge a QoS 1 message only after
the transaction holding its fixes has committed.

paho-mqtt 2 with `manual_ack=True`, MQTT 5, a persistent session (clean_start False,
a session expiry). Memory is bounded by the client itself: when `buffer_messages`
messages are received and not yet settled (acked, or let go for redelivery), paho's
network thread waits in `on_message` and so stops reading the socket; TCP
back-pressure leaves the rest at the broker. Receive Maximum asks the broker for the
same bound, but the feed does not rely on it. A worker thread takes up to
`batch_size` messages (waiting at most `batch_latency_s` for them), ingests them in
one transaction and acks them in the order received. A payload that can never
succeed is counted, logged and acked. A database error stops acknowledging: the same
batch is retried on a fresh connection with back-off until it commits. A broker
reconnect starts a new session generation: messages of an older one are not acked
(the broker redelivers them; the (vehicle, time) key stores them once); when the
broker kept the session, those still queued here are let go at once rather than
stored twice.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from etl.feed.ingest import FeedRules, ingest
from etl.feed.payload import fixes_of

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttOptions:
    url: str = "mqtt://127.0.0.1:1883"
    topics: tuple[str, ...] = ("onemap/positions/#",)
    qos: int = 1
    client_id: str = "onemap-feed"
    username: str = ""
    password: str = ""
    ca_file: str = ""
    session_expiry_s: int = 7 * 86400
    batch_size: int = 2000
    batch_latency_s: float = 0.1
    buffer_messages: int = 20000
    keepalive_s: int = 30
    receive_maximum: int = 0  # asked of the broker; 0: buffer_messages (tests ask more)

    @property
    def host_port(self) -> tuple[str, int, bool]:
        parts = urlsplit(self.url)
        tls = parts.scheme == "mqtts"
        return parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls


@dataclass
class Message:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass
class FeedStats:
    """Counters since start (what `onemap feed` logs and the tests read)."""

    connects: int = 0
    subscribed: int = 0  # SUBACKs received (a test waits on this before publishing)
    messages: int = 0
    acked: int = 0
    batches: int = 0
    bad_payloads: int = 0
    db_failures: int = 0
    overflow: int = 0  # QoS 0 messages dropped because the buffer was full
    inflight: int = 0  # received, not yet settled (acked or let go): at most buffer_messages
    max_inflight: int = 0  # its high-water mark
    paused: int = 0  # times the network thread stopped reading at the bound
    let_go: int = 0  # older-session messages dropped here for the broker to redeliver
    counts: Counter = field(default_factory=Counter)  # ingest counts summed


def _connect_db(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, application_name="onemap-feed", connect_timeout=5)


class MqttFeed:
    """One broker session, one database connection, one worker thread."""

    def __init__(
        self,
        dsn: str,
        options: MqttOptions,
        rules: FeedRules | None = None,
        connect_db: Callable[[str], psycopg.Connection] = _connect_db,
    ) -> None:
        self.dsn, self.options, self.rules = dsn, options, rules or FeedRules()
        self.connect_db = connect_db
        self.stats = FeedStats()
        self.generation = 0
        self._queue: queue.Queue[Message] = queue.Queue()
        self._room = threading.Condition()  # guards stats.inflight
        self._stop = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._client = self._make_client()
        self._worker = threading.Thread(target=self._work, name="onemap-feed", daemon=True)

    def _make_client(self) -> mqtt.Client:
        o = self.options
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=o.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if o.username:
            client.username_pw_set(o.username, o.password or None)
        if o.host_port[2]:
            client.tls_set(ca_certs=o.ca_file or None)
        client.reconnect_delay_set(min_delay=0.1, max_delay=5)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        return client

    # --- paho's network thread -------------------------------------------------------
    def _on_connect(self, client, _userdata, flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            LOGGER.warning("feed: broker refused the connection: %s", reason_code)
            return
        self.generation += 1
        self.stats.connects += 1
        LOGGER.info("feed: connected (session present: %s)", flags.session_present)
        if flags.session_present:
            self._let_go_stale()
        client.subscribe([(t, self.options.qos) for t in self.options.topics])

    def _on_subscribe(self, _client, _userdata, _mid, _reason_codes, _props) -> None:
        self.stats.subscribed += 1

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:
        if not self._stop.is_set():
            LOGGER.warning("feed: broker connection lost (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        bound, s = self.options.buffer_messages, self.stats
        with self._room:
            if s.inflight >= bound:
                if msg.qos == 0:
                    s.messages += 1
                    s.overflow += 1
                    return
                s.paused += 1
                # paho reads nothing more while we wait here: the broker keeps the rest
                while s.inflight >= bound:
                    if self._stop.is_set():
                        return  # not acked: the broker redelivers it
                    self._room.wait(0.5)
            s.messages += 1
            s.inflight += 1
            s.max_inflight = max(s.max_inflight, s.inflight)
        self._queue.put(Message(self.generation, msg.mid, msg.qos, msg.topic, msg.payload))

    def _settled(self, n: int) -> None:
        with self._room:
            self.stats.inflight -= n
            self._room.notify_all()

    def _let_go_stale(self) -> None:
        """The broker kept the session, so it redelivers every message not acked: those of
        the old connection still queued here would only be stored and then dropped as
        duplicates — drop them now (the one batch the worker holds is finished normally)."""
        stale = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            stale += 1
        if stale:
            self.stats.let_go += stale
            self._settled(stale)

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> MqttFeed:
        host, port, _tls = self.options.host_port
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.options.session_expiry_s
        props.ReceiveMaximum = min(
            self.options.receive_maximum or self.options.buffer_messages, 65535
        )
        self._client.connect_async(
            host, port, keepalive=self.options.keepalive_s, clean_start=False, properties=props
        )
        self._client.loop_start()
        self._worker.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop without acknowledging what is not committed (the broker keeps it)."""
        self._stop.set()
        with self._room:
            self._room.notify_all()
        self._worker.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        if self._conn is not None:
            self._conn.close()

    def run_forever(self, report_every_s: float = 60.0, status_file: Path | None = None) -> None:
        """Run until stopped; the counters are logged every `report_every_s` and written
        to `status_file` (for `onemap feed status`) every 5 s."""
        self.start()
        ticks = 0
        try:
            while not self._stop.wait(5.0):
                ticks += 1
                status = self.status()
                if status_file is not None:
                    status_file.parent.mkdir(parents=True, exist_ok=True)
                    tmp = status_file.with_suffix(".tmp")
                    tmp.write_text(json.dumps({"at": time.time(), **status}))
                    tmp.replace(status_file)
                if ticks * 5.0 >= report_every_s:
                    ticks = 0
                    LOGGER.info("feed: %s", status)
        finally:
            self.stop()

    def status(self) -> dict:
        s = self.stats
        return {
            "connected": self._client.is_connected(),
            "connects": s.connects,
            "messages": s.messages,
            "acked": s.acked,
            "buffered": self._queue.qsize(),
            "inflight": s.inflight,
            "max_inflight": s.max_inflight,
            "paused": s.paused,
            "batches": s.batches,
            "bad_payloads": s.bad_payloads,
            "db_failures": s.db_failures,
            **dict(s.counts),
        }

    # --- the worker ----------------------------------------------------------------
    def _take(self) -> list[Message]:
        try:
            batch = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.options.batch_latency_s
        while len(batch) < self.options.batch_size:
            left = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _work(self) -> None:
        while not self._stop.is_set():
            batch = self._take()
            if batch and self._commit(batch):
                self._ack(batch)
            if batch:
                self._settled(len(batch))  # acked, or (older session, stopping) redelivered

    def _commit(self, batch: list[Message]) -> bool:
        """Ingest the batch until it commits (True) or the feed stops (False)."""
        fixes = []
        for m in batch:
            found, problems = fixes_of(m.payload, m.topic.rsplit("/", 1)[-1] or None)
            fixes.extend(found)
            if problems:
                self.stats.bad_payloads += 1
                LOGGER.warning("feed: bad payload on %s: %s", m.topic, "; ".join(problems[:5]))
        delay = 0.1
        while not self._stop.is_set():
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self.connect_db(self.dsn)
                result = ingest(self._conn, fixes, self.rules)
            except Exception as exc:  # noqa: BLE001 - whatever it is, nothing is acked
                self.stats.db_failures += 1
                if isinstance(exc, psycopg.Error):
                    LOGGER.warning("feed: database error, not acknowledging, retrying: %s", exc)
                else:
                    LOGGER.exception("feed: unexpected error, not acknowledging, retrying")
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.stats.batches += 1
            self.stats.counts.update(result.counts())
            return True
        return False

    def _ack(self, batch: list[Message]) -> None:
        for m in batch:
            if m.qos > 0 and m.generation == self.generation:
                if self._client.ack(m.mid, m.qos) == mqtt.MQTT_ERR_SUCCESS:
                    self.stats.acked += 1
