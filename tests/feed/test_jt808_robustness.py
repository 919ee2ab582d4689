"""The JT/T 808 listener against bad input: broken frames, split and merged reads, idle and
garbage-only connections, the connection limit, seeded fuzz — never closing anyone else."""

from __future__ import annotations

import asyncio
import random
import socket

import pytest

from etl.feed import jt808_codec as c
from etl.feed.jt808_frame import (
    V2019,
    FrameSplitter,
    Header,
    checksum,
    decode_frame,
    encode_frame,
    escape,
)
from etl.feed.jt808_server import Jt808Server
from etl.feed.jt808_session import Deferred, Jt808Settings, Session
from etl.feed.jt808_sim import Terminal, location
from tests.feed.test_jt808_support import (
    LOOPS,
    Recorder,
    by_phone,
    connected,
    loop_factory,
    run,
    serve,
)


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


def test_a_terminal_that_never_reads_its_answers_is_closed_others_are_not():
    async def go():
        async with serve(idle_timeout_s=2) as server:
            other = await connected(server, "13900000023")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
            _, writer = await asyncio.open_connection(sock=sock)
            t = Terminal("13900000022")
            burst = b"".join(t.frame(c.HEARTBEAT) for _ in range(2_000))
            async with asyncio.timeout(30):  # valid frames keep coming, answers are never read
                while server.stats.idle_closed == 0:
                    writer.write(burst)
                    await asyncio.sleep(0.05)  # polling the condition
                    assert (await other.heartbeat()).result == c.OK
            assert server.stats.connections == 1
            writer.close()
            await other.close()

    run(go())
