"""The race :mod:`backproplab.kernel_client` fixes, replayed on two real ZeroMQ sockets.

A reply lands on the client's shell socket while the client waits for it, and at that moment the
client sends on the same socket (nbclient does, for an Output widget's state). With jupyter_client's
own channel the wait sleeps until its timeout; with the library's it wakes at once.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import zmq
import zmq.asyncio
from backproplab.kernel_client import CLIENT_CLASS, ShellChannel, ValidateKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session
from traitlets.utils.importstring import import_item

TIMEOUT = 2.0


async def _trial(channel_class, name: str) -> tuple[str, float]:
    ctx = zmq.asyncio.Context()
    kernel = ctx.socket(zmq.ROUTER)
    kernel.bind(f"inproc://{name}")
    client = ctx.socket(zmq.DEALER)
    client.connect(f"inproc://{name}")
    session = Session()
    shell = channel_class(client, session)
    try:
        request = session.msg("execute_request", content={"code": "1"})
        shell.send(request)
        idents, _ = session.feed_identities(await kernel.recv_multipart())
        waiting = asyncio.ensure_future(shell.get_msg(timeout=TIMEOUT))
        await asyncio.sleep(0.2)   # the wait is parked on the socket's file descriptor
        session.send(kernel, "execute_reply", {"status": "ok"}, parent=request, ident=idents)
        shell.send(session.msg("comm_msg", content={"comm_id": "w", "data": {"method": "update"}}))
        t0 = time.monotonic()
        reply = await waiting
        return reply["msg_type"], time.monotonic() - t0
    finally:
        client.close(0)
        kernel.close(0)
        ctx.term()


def test_the_librarys_channel_wakes_for_a_reply_that_arrives_during_a_send():
    async def both():
        return await _trial(AsyncZMQSocketChannel, "plain"), await _trial(ShellChannel, "fixed")

    # in a thread of its own: this worker's thread may hold a running event loop (Playwright's)
    with ThreadPoolExecutor(1) as pool:
        (plain, plain_s), (fixed, fixed_s) = pool.submit(asyncio.run, both()).result()
    assert plain == fixed == "execute_reply"
    assert plain_s > 0.75 * TIMEOUT, (
        f"jupyter_client's own channel woke after {plain_s:.2f} s: the race replayed here is gone (or not "
        "replayed), and backproplab.kernel_client may no longer be needed")
    assert fixed_s < 0.5, f"the library's channel woke {fixed_s:.2f} s after the reply arrived"


def test_the_client_class_is_the_configured_name():
    assert import_item(CLIENT_CLASS) is ValidateKernelClient
    assert ValidateKernelClient.shell_channel_class.default_value is ShellChannel
