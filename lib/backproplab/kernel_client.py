"""The kernel client that Validate and the grader run notebooks with.

jupyter_client's ``Session.send`` writes on a plain (blocking) shadow of the client's asyncio
socket. libzmq handles the socket's pending commands during that send, which swallows the
edge-triggered wake-up (``ZMQ_FD``) of a message that has just arrived, so an asyncio wait for
that message on the same socket is never woken: it sleeps until its timeout. nbclient sends on the
shell socket while it waits for a cell's ``execute_reply`` when the cell shows an Output widget
(ipywidgets' ``interact``: nbclient mimics the widget and sends its state back to the kernel). On
a busy machine such a cell's reply often lands in that window, and Validate waited out the whole
cell budget (120 s) before going on.

:class:`ValidateKernelClient` re-arms the wait after every send: reading ``ZMQ_EVENTS`` through
the asyncio socket schedules a waiting receive when a message is ready. binder/postBuild points
nbgrader's Validate at it, ``autograder/course.py`` the grader; ``make bench`` measures Validate
with and without it, and the library's tests replay the race.
"""

from __future__ import annotations

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

__all__ = ["CLIENT_CLASS", "ShellChannel", "ValidateKernelClient"]

#: the dotted name a traitlets config takes (``c.AsyncKernelManager.client_class``)
CLIENT_CLASS = "backproplab.kernel_client.ValidateKernelClient"


class ShellChannel(AsyncZMQSocketChannel):
    """A shell channel whose sends cannot swallow the wake-up of a reply that has just arrived."""

    def send(self, msg: dict) -> None:
        super().send(msg)
        self.socket.get(zmq.EVENTS)


class ValidateKernelClient(AsyncKernelClient):
    """jupyter_client's ``AsyncKernelClient`` with :class:`ShellChannel`."""

    shell_channel_class = Type(ShellChannel)
