"""The JT/T 808 listener over real TCP on loopback, driven by the terminal simulator."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random

import pytest

from etl.feed import jt808_codec as c
from etl.feed.jt808_frame import (
    V2013,
    V2019,
    FrameSplitter,
    Header,
    checksum,
    decode_frame,
    encode_frame,
    escape,
)
from etl.feed.jt808_server import Jt808Server, start_listener
from etl.feed.jt808_session import Deferred, Jt808Settings, Session
from etl.feed.jt808_sim import Terminal, location

VEHICLES = {f"139{i:08d}": f"V{i:04d}" for i in range(200)}


def run(coro, loop_factory=None):
    return asyncio.run(asyncio.wait_for(coro, 60), loop_factory=loop_factory)


LOOPS = pytest.mark.parametrize("loop", ["asyncio", "uvloop"])  # onemap serve runs uvloop


def loop_factory(name):
    return pytest.importorskip("uvloop").new_event_loop if name == "uvloop" else None


class Recorder:
    """An async sink that keeps what it was given (and can be told to fail)."""

    def __init__(self):
        self.calls: list[list] = []
        self.fail = False

    async def __call__(self, fixes):
        if self.fail:
            raise RuntimeError("database down")
        self.calls.append(list(fixes))

    @property
    def fixes(self):
        return [f for call in self.calls for f in call]


def by_phone(phone, plate):
    return VEHICLES.get(phone)


@contextlib.asynccontextmanager
async def serve(sink=None, lookup=by_phone, **settings):
    server = await start_listener("127.0.0.1", 0, sink or Recorder(), lookup,
                                  Jt808Settings(**settings))  # fmt: skip
    try:
        yield server
    finally:
        await server.close()


async def connected(server, phone, version=V2013, sign_in=True):
    t = Terminal(phone, version)
    await t.connect("127.0.0.1", server.port)
    if sign_in:
        await t.sign_in()
    return t


@pytest.mark.parametrize("version", [V2013, V2019])
def test_register_authenticate_report(version):
    async def go():
        sink = Recorder()
        async with serve(sink, crs="gcj02") as server:
            t = await connected(server, "13900000007", version, sign_in=False)
            refused = await t.report(location(31.3, 120.6))
            assert refused.result == c.FAIL and sink.calls == []
            reply = await t.register("苏E12345")
            assert reply.result == c.REG_OK and len(reply.auth_code) == 16
            assert (await t.authenticate("wrong")).result == c.FAIL
            assert (await t.authenticate(reply.auth_code)).result == c.OK
            assert (await t.heartbeat()).result == c.OK
            when = dt.datetime(2026, 12, 4, 1, 2, 3, tzinfo=dt.UTC)
            ok = await t.report(location(31.3, -120.6, t=when, speed=42.5, heading=181))
            assert (ok.result, ok.reply_id, ok.reply_serial) == (c.OK, c.LOCATION, t.serial)
            h, _ = await t.request(c.HEARTBEAT)
            assert (h.version, h.phone, h.msg_id) == (version, "13900000007", c.PLATFORM_RESPONSE)
            await t.close()
        [fix] = sink.fixes
        assert (fix.vehicle, fix.phone, fix.t, fix.crs) == ("V0007", "13900000007", when, "gcj02")
        assert (fix.lat, fix.lon, fix.speed, fix.heading) == (31.3, -120.6, 42.5, 181.0)

    run(go())


def test_unknown_terminal_refused_and_unsupported_message():
    async def go():
        async with serve() as server:
            t = await connected(server, "13800000000", sign_in=False)
            assert (await t.register()).result == c.REG_NO_TERMINAL
            _, body = await t.request(0x0900, b"passthrough")
            assert c.decode_response(body).result == c.UNSUPPORTED
            answer = c.encode_response(c.GeneralResponse(1, 0x8103, c.OK))
            await t.send_raw(t.frame(c.TERMINAL_RESPONSE, answer))  # answered by nothing
            h, body = await t.request(c.HEARTBEAT)
            assert c.decode_response(body) == c.GeneralResponse(t.serial, c.HEARTBEAT, c.OK)
            assert h.serial == 3  # the platform's third message: 0x8100, 0x8001, this one
            await t.close()

    run(go())


def test_auth_not_required_and_unlocated_skipped():
    async def go():
        sink = Recorder()
        async with serve(sink, require_auth=False) as server:
            t = await connected(server, "13900000001", sign_in=False)
            assert (await t.report(location(30.0, 120.0))).result == c.OK
            assert (await t.report(location(0.0, 0.0, status=0))).result == c.OK
            await t.close()
            assert server.stats.dropped == {"unlocated": 1}
        assert [f.vehicle for f in sink.fixes] == ["V0001"]

    run(go())


def test_batch_upload_and_subpackaged_batch():
    async def go():
        sink = Recorder()
        async with serve(sink) as server:
            t = await connected(server, "13900000002")
            base = dt.datetime(2026, 12, 4, 0, 0, tzinfo=dt.UTC)
            locs = [location(31 + i / 1000, 120, t=base + dt.timedelta(seconds=10 * i))
                    for i in range(40)]  # fmt: skip
            ack = await t.report_batch(locs[:20], kind=1)
            assert (ack.result, ack.reply_id) == (c.OK, c.BATCH_LOCATION)
            assert [f.t for f in sink.fixes] == [x.t for x in locs[:20]]
            body = c.encode_batch(c.BatchLocation(0, locs[20:]))
            parts = [body[:300], body[300:]]
            for i, part in enumerate(parts, 1):
                await t.send_raw(t.frame(c.BATCH_LOCATION, part, total=2, index=i))
                answer = c.decode_response((await t.reply_to(t.serial))[1])
                assert answer.result == c.OK
            await t.close()
        assert [f.t for f in sink.fixes] == [x.t for x in locs]

    run(go())


@LOOPS
def test_ack_only_after_sink_returns_and_failure_is_not_acknowledged(loop):
    async def go():
        entered, release = asyncio.Event(), asyncio.Event()
        sink = Recorder()

        async def slow(fixes):
            entered.set()
            await release.wait()
            await sink(fixes)

        async with serve(slow) as server:
            t = await connected(server, "13900000003")
            other = await connected(server, "13900000004")
            pending = asyncio.create_task(t.report(location(30.0, 120.0)))
            await entered.wait()
            assert (await other.heartbeat()).result == c.OK  # the listener is answering others
            assert not pending.done() and sink.calls == []
            release.set()
            assert (await pending).result == c.OK
            assert len(sink.fixes) == 1
            sink.fail = True
            assert (await t.report(location(30.1, 120.0))).result == c.FAIL
            assert (await t.report_batch([location(30.2, 120.0)] * 3)).result == c.FAIL
            sink.fail = False
            assert (await t.report(location(30.1, 120.0))).result == c.OK  # the retry lands
            assert server.batcher.failures == 2
            await t.close()
            await other.close()
        assert [f.lat for f in sink.fixes] == [30.0, 30.1]

    run(go(), loop_factory(loop))


def test_sync_sink_runs_in_a_thread():
    async def go():
        got = []
        async with serve(got.extend) as server:
            t = await connected(server, "13900000005")
            assert (await t.report(location(30.0, 120.0))).result == c.OK
            await t.close()
        assert [f.vehicle for f in got] == ["V0005"]

    run(go())


def bad_frames(t: Terminal) -> list[tuple[bytes, int | None]]:
    """Broken frames and the result they should be answered with (None: skipped)."""
    good = bytearray(t.frame(c.HEARTBEAT))
    good[-2] ^= 0xFF  # checksum wrong (serial readable)
    short_body = encode_frame(Header(c.LOCATION, t.phone, 78), b"\x00" * 10)
    head = bytes.fromhex("0200001c") + bytes.fromhex("013900000006") + (79).to_bytes(2, "big")
    bad_time = head + b"\x00" * 22 + bytes.fromhex("991399999999")
    return [
        (b"\x00\x01garbage", None),
        (bytes(good), c.BAD_MESSAGE),
        (b"\x7e\x01\x7d\x05\x02\x7e", None),  # bad escape, header unreadable
        (short_body[:16] + b"\x7d\x09" + short_body[16:], c.BAD_MESSAGE),  # bad escape in body
        (b"\x7e" + b"\x02\x00\x00" + b"\x7e", None),  # truncated
        (short_body, c.BAD_MESSAGE),  # a location body of 10 bytes
        (b"\x7e" + escape(bad_time + bytes([checksum(bad_time)])) + b"\x7e", c.BAD_MESSAGE),
        (b"\x7e" + b"\x01" * 5000 + b"\x7e", None),  # oversized
    ]


@LOOPS
def test_bad_frames_refused_without_closing_anyone(loop):
    async def go():
        sink = Recorder()
        async with serve(sink) as server:
            others = [await connected(server, f"139{i:08d}") for i in range(10, 15)]
            t = await connected(server, "13900000006")
            answered = []
            for frame, expected in bad_frames(t):
                await t.send_raw(frame)
                if expected is not None:
                    h, body = await t.next_message()
                    answered.append(c.decode_response(body).result)
            assert answered == [c.BAD_MESSAGE] * 4
            assert (await t.report(location(30.0, 120.0))).result == c.OK  # still served
            status = server.status()  # nobody has left yet
            assert (status["connections"], status["authenticated"]) == (6, 6)
            assert status["fixes"] == 1 and status["bad_frames"]["bad_checksum"] == 1
            for o in others:
                assert (await o.report(location(31.0, 121.0))).result == c.OK
                await o.close()
            await t.close()
            bad = server.stats.bad
            assert bad["bad_checksum"] == 1 and bad["bad_body"] == 2 and bad["oversized"] == 1
            assert bad["bad_escape"] == 2 and bad["truncated"] >= 1
            assert server.stats.connections_total == 6
        assert len(sink.fixes) == 6

    run(go(), loop_factory(loop))


def test_frames_split_across_reads_and_several_in_one():
    async def go():
        sink = Recorder()
        async with serve(sink) as server:
            t = await connected(server, "13900000008")
            frames = [
                t.frame(c.LOCATION, c.encode_location(location(30 + i, 120))) for i in range(3)
            ]
            serials = range(t.serial - 2, t.serial + 1)
            stream = b"\xff\xfe" + frames[0]
            for i in range(len(stream)):
                await t.send_raw(stream[i : i + 1])
            await t.send_raw(frames[1] + frames[2])
            for serial in serials:
                _, body = await t.reply_to(serial)
                assert c.decode_response(body).result == c.OK
            await t.close()
        assert sorted(f.lat for f in sink.fixes) == [30.0, 31.0, 32.0]

    run(go())


def test_idle_connections_closed_garbage_does_not_keep_them_open():
    async def go():
        async with serve(idle_timeout_s=0.3) as server:
            silent = await connected(server, "13900000009", sign_in=False)
            chatty = await connected(server, "13900000011", sign_in=False)
            await chatty.send_raw(b"\x7e\x00\x7e")  # only garbage, no valid frame
            for t in (silent, chatty):
                assert await asyncio.wait_for(t.reader.read(), 10) == b""  # EOF
                await t.close()
            assert server.stats.idle_closed == 2

    run(go())


def test_connection_limit():
    async def go():
        async with serve(max_connections=2) as server:
            a = await connected(server, "13900000012")
            b = await connected(server, "13900000013")
            c3 = Terminal("13900000014")
            await c3.connect("127.0.0.1", server.port)
            with pytest.raises((ConnectionError, TimeoutError)):
                await c3.heartbeat()
            assert (await a.heartbeat()).result == c.OK and server.stats.refused_connections == 1
            for t in (a, b, c3):
                await t.close()

    run(go())


@LOOPS
def test_many_terminals_at_once(loop):
    n, reports = 150, 4

    async def one(server, i):
        t = await connected(server, f"139{i:08d}", V2019 if i % 2 else V2013)
        for k in range(reports):
            assert (await t.report(location(30 + k / 100, 120 + i / 1000))).result == c.OK
        assert (await t.report_batch([location(31, 121)] * 3)).result == c.OK
        await t.close()

    async def go():
        sink = Recorder()
        async with serve(sink) as server:
            await asyncio.gather(*(one(server, i) for i in range(n)))
        assert len(sink.fixes) == n * (reports + 3)
        assert {f.vehicle for f in sink.fixes} == {f"V{i:04d}" for i in range(n)}
        assert len(sink.calls) < n * (reports + 1)  # reports of many terminals share sink calls

    run(go(), loop_factory(loop))


def test_async_lookup_and_a_failing_lookup_answers_later_not_no():
    down = {"now": True}

    async def lookup(phone, plate):
        if down["now"]:
            raise ConnectionError("database down")
        return VEHICLES.get(phone)

    async def go():
        sink = Recorder()
        async with serve(sink, lookup=lookup) as server:
            t = await connected(server, "13900000015", sign_in=False)
            await t.send_raw(t.frame(c.REGISTER, c.encode_registration(
                c.Registration(32, 500, "M", "X", "1", 1, "苏E1"), V2013)))  # fmt: skip
            assert (await t.heartbeat()).result == c.OK  # no answer to the registration came first
            down["now"] = False
            code = await t.sign_in()
            down["now"] = True
            assert (await t.report(location(30.0, 120.0))).result == c.OK  # resolved once, kept
            t2 = await connected(server, "13900000016", sign_in=False)
            down["now"] = False
            reply = await t2.register()
            await t2.close()
            down["now"] = True
            t2 = await connected(server, "13900000016", sign_in=False)  # reconnects, lookup down
            assert (await t2.authenticate(reply.auth_code)).result == c.FAIL
            down["now"] = False
            assert (await t2.authenticate(reply.auth_code)).result == c.OK
            assert code != reply.auth_code
            assert server.stats.dropped["lookup_failed"] == 2
            await t.close()
            await t2.close()
        assert [f.vehicle for f in sink.fixes] == ["V0015"]

    run(go())


def test_lookup_by_plate_and_registrations_survive_a_restart():
    plates = {"苏E12345": "MUCK-7"}
    registered = {}

    async def go():
        sink = Recorder()
        settings = Jt808Settings()
        server = Jt808Server(sink, lambda phone, plate: plates.get(plate), settings, registered)
        await server.start("127.0.0.1", 0)
        t = await connected(server, "13700000001", sign_in=False)
        reply = await t.register("苏E12345")
        assert reply.result == c.REG_OK
        await t.close()
        await server.close()
        again = Jt808Server(sink, lambda phone, plate: plates.get(plate), settings, registered)
        await again.start("127.0.0.1", 0)
        t = await connected(again, "13700000001", sign_in=False)
        assert (await t.authenticate(reply.auth_code)).result == c.OK  # no new registration
        assert (await t.report(location(30.0, 120.0))).result == c.OK
        stranger = await connected(again, "13700000002", sign_in=False)
        assert (await stranger.register("苏E99999")).result == c.REG_NO_TERMINAL
        for x in (t, stranger):
            await x.close()
        await again.close()
        assert [f.vehicle for f in sink.fixes] == ["MUCK-7"]

    run(go())


def test_subpackaged_batch_refused_by_the_sink_lands_when_its_last_package_is_resent():
    async def go():
        sink = Recorder()
        async with serve(sink) as server:
            t = await connected(server, "13900000017")
            locs = [location(31 + i / 1000, 120) for i in range(12)]
            body = c.encode_batch(c.BatchLocation(1, locs))
            parts = [body[:100], body[100:200], body[200:]]

            async def send(index):
                t.serial = first + index - 2  # a resend keeps its serial
                await t.send_raw(t.frame(c.BATCH_LOCATION, parts[index - 1], total=3, index=index))
                return c.decode_response((await t.reply_to(t.serial))[1]).result

            first = t.serial + 1
            assert [await send(1), await send(3)] == [c.OK, c.OK]  # out of order
            sink.fail = True
            assert await send(2) == c.FAIL  # whole now, but the sink refused it
            sink.fail = False
            assert await send(3) == c.OK  # the terminal resends; the message is handled again
            assert await send(1) == c.OK  # a stray resend of another package: no second delivery
            await t.close()
        assert [f.lat for f in sink.fixes] == [x.lat for x in locs]

    run(go())


def test_mutated_frames_never_break_a_session():
    """Seeded fuzz: flipped, cut and spliced bytes of valid frames only ever give answers."""

    async def go():
        sink = Recorder()
        server = Jt808Server(sink, by_phone, Jt808Settings(require_auth=False))
        session = Session(server.shared)
        t = Terminal("13900000018", V2019)
        valid = [t.frame(c.LOCATION, c.encode_location(location(30, 120))),
                 t.frame(c.BATCH_LOCATION, c.encode_batch(c.BatchLocation(0, [location(1, 2)] * 3))),
                 t.frame(c.REGISTER, c.encode_registration(
                     c.Registration(1, 2, "m", "x", "i", 1, "苏E1"), V2019)),
                 t.frame(c.AUTHENTICATE, b"\x05ab"), t.frame(c.HEARTBEAT)]  # fmt: skip
        rng = random.Random(808)
        splitter = FrameSplitter()
        answers = 0
        for _ in range(3000):
            frame = bytearray(rng.choice(valid))
            for _ in range(rng.randint(1, 4)):
                if not frame:
                    break
                i = rng.randrange(len(frame))
                op = rng.randrange(3)
                if op == 0:
                    frame[i] = rng.randrange(256)
                elif op == 1:
                    del frame[i:]
                else:
                    frame[i:i] = bytes([rng.choice((0x7D, 0x7E, rng.randrange(256)))])
            for raw in splitter.feed(bytes(frame)):
                replies, _ = await session.on_frame(raw)
                for reply in replies:
                    if isinstance(reply, Deferred):
                        reply = await reply.resolve()
                    h, body = decode_frame(reply[1:-1])  # every answer is itself a valid frame
                    answers += 1
        await server.close()
        assert answers > 100

    run(go())


def test_close_hands_pending_fixes_to_the_sink():
    async def go():
        sink = Recorder()
        server = await start_listener("127.0.0.1", 0, sink, by_phone,
                                      Jt808Settings(batch_max_wait_s=3600))  # fmt: skip
        t = await connected(server, "13900000019")
        pending = asyncio.create_task(t.report(location(30.0, 120.0)))
        while server.batcher.pending == 0:
            await asyncio.sleep(0.01)  # polling a condition, not a fixed wait
        await server.close()
        assert [f.vehicle for f in sink.fixes] == ["V0019"]
        with contextlib.suppress(ConnectionError):
            assert (await pending).result == c.OK  # answered if the answer beat the close
        with pytest.raises(ConnectionAbortedError):
            await server.batcher.submit(sink.fixes)
        await t.close()

    run(go())


def test_settings_from_a_config_block():
    s = Jt808Settings.from_mapping({"crs": "gcj02", "idle_timeout_s": 60, "require_auth": False})
    assert (s.crs, s.idle_timeout_s, s.require_auth) == ("gcj02", 60.0, False)
    for bad, named in [({"crs": "wgs-84"}, "crs"), ({"idle_timeout": 5}, "idle_timeout"),
                       ({"require_auth": "yes"}, "require_auth"), ({"max_frame_bytes": 0}, "max_frame_bytes"),
                       ({"max_connections": 1.5}, "max_connections")]:  # fmt: skip
        with pytest.raises(ValueError, match=named):
            Jt808Settings.from_mapping(bad)


@LOOPS
def test_frames_sent_without_waiting_share_sink_calls_and_are_answered_in_order(loop):
    async def go():
        sink = Recorder()
        async with serve(sink) as server:
            t = await connected(server, "13900000020")
            first = t.serial + 1
            burst = b"".join(t.frame(c.LOCATION, c.encode_location(location(30 + i / 1000, 120)))
                             for i in range(300))  # fmt: skip
            await t.send_raw(burst + t.frame(c.HEARTBEAT))
            answered = []
            while len(answered) < 301:
                _, body = await t.next_message()
                answered.append(c.decode_response(body))
            assert [a.reply_serial for a in answered] == list(range(first, first + 301))
            assert {a.result for a in answered} == {c.OK}
            await t.close()
        assert [f.lat for f in sink.fixes] == [30 + i / 1000 for i in range(300)]
        assert len(sink.calls) < 30  # a terminal's burst is not one sink call per frame

    run(go(), loop_factory(loop))
