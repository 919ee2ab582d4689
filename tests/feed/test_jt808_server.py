"""The JT/T 808 listener over real TCP on loopback: registration, authentication, reports,
batches, acknowledgement after the sink, lookups, settings, many terminals."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest

from etl.feed import jt808_codec as c
from etl.feed.jt808_frame import V2013, V2019
from etl.feed.jt808_server import Jt808Server, start_listener
from etl.feed.jt808_session import Jt808Settings
from etl.feed.jt808_sim import location
from tests.feed.test_jt808_support import (
    LOOPS,
    VEHICLES,
    Recorder,
    by_phone,
    connected,
    loop_factory,
    run,
    serve,
)


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


def test_time_query_2019():
    async def go():
        async with serve() as server:
            t = await connected(server, "13900000021", V2019)
            before = dt.datetime.now(dt.UTC).replace(microsecond=0)
            told = await t.query_time()
            assert before <= told <= dt.datetime.now(dt.UTC)
            await t.close()

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
