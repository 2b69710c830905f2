"""Run a rebuilt notebook in a sandboxed kernel, robustly, and collect the test outputs as data.

:class:`Executor` is an nbclient ``NotebookClient`` that:

- starts the kernel with :class:`~autograder.grading.sandbox.SandboxedKernelManager`;
- runs only the cells :mod:`autograder.grading.notebook` marked to run (``setup``, ``support``,
  ``answer``, ``test``), in order;
- takes every display of :data:`backproplab.exercises.MIME` from a test cell out of the stream
  of outputs into :attr:`Executor.payloads` (a student's ``clear_output`` cannot remove them,
  and they never reach a feedback page), capped in count and size;
- keeps a snapshot of every cell's outputs as they were when the first test began
  (:attr:`Executor.snapshot`): feedback shows only that, so nothing a later display update or
  a test's inputs could write reaches it;
- turns a cell that runs past the cell timeout, or that kills the kernel (``os._exit``, a crash,
  a resource limit), into an error output naming the reason (``CellTimeout``/``KernelDied``),
  restarts the kernel, replays the setup and answer cells before it silently, and goes on, so
  one bad exercise costs only its own points;
- drops a cell's other output beyond ``Limits.output_kb`` (with a note);
- stops running cells when the submission's wall-clock budget is spent (``NotRun``).

Nothing the kernel says decides a score: payloads are only data for the trusted judge.
"""

from __future__ import annotations

import copy
import json
import time

from backproplab.exercises import MIME
from jupyter_core.utils import run_sync
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from .notebook import cell_role
from .sandbox import Limits, SandboxedKernelManager

__all__ = ["RUN_ROLES", "Executor", "error_output"]

RUN_ROLES = ("setup", "support", "answer", "test")
PAYLOAD_CELL_BYTES = 32 * 1024 * 1024
PAYLOADS_PER_CELL = 2000


def _signal_name(status: int | None) -> str:
    import signal

    if status is None:
        return "the kernel stopped responding"
    sig = -status if status < 0 else (status - 128 if status > 128 else None)
    if sig:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        hint = {"SIGKILL": " (memory, process or CPU limit, or killed by the sandbox)",
                "SIGXCPU": " (CPU time limit)", "SIGSEGV": " (the interpreter crashed)",
                "SIGABRT": " (the interpreter aborted)", "SIGXFSZ": " (file size limit)"}.get(name, "")
        return f"the kernel was killed by {name}{hint}"
    return f"the kernel exited with status {status} (os._exit or a crash)"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class Executor(NotebookClient):
    """See the module docstring. ``limits`` bound the run; ``scratch`` etc. configure the sandbox."""

    interrupt_on_timeout = False      # a timed-out kernel is killed and replaced, never trusted again

    def __init__(self, nb, *, limits: Limits, scratch: str, sandbox: bool, uid: int, cgroups: list[str],
                 socket_dir: str, max_restarts: int = 6):
        km = SandboxedKernelManager(scratch=scratch, sandbox=sandbox, uid=uid, limits_json=limits.to_json(),
                                    cgroups=cgroups, socket_dir=socket_dir)
        super().__init__(nb, km=km, timeout=limits.cell_timeout, startup_timeout=120, allow_errors=True,
                         kernel_name="python3", record_timing=False)
        self.limits = limits
        self.max_restarts = max_restarts
        self.events: list[dict] = []
        self.payloads: dict[int, list[dict]] = {}
        self.snapshot: dict[int, list] = {}
        self._out_bytes: dict[int, int] = {}
        self._pay_bytes: dict[int, int] = {}
        self._truncated: set[int] = set()
        self._failed: set[int] = set()

    def _event(self, **ev) -> None:
        self.events.append(ev)

    # -- outputs --------------------------------------------------------------------------------
    def process_message(self, msg, cell, cell_index):
        mtype = msg.get("msg_type")
        content = msg.get("content", {})
        if mtype == "display_data" and isinstance(content.get("data"), dict) and MIME in content["data"]:
            if cell_role(cell) == "test":
                data = content["data"][MIME]
                size = len(json.dumps(data))
                used = self._pay_bytes.get(cell_index, 0) + size
                got = self.payloads.setdefault(cell_index, [])
                if used <= PAYLOAD_CELL_BYTES and len(got) < PAYLOADS_PER_CELL:
                    self._pay_bytes[cell_index] = used
                    got.append(data)
                elif not any(e.get("kind") == "payload_cap" and e.get("cell") == cell_index for e in self.events):
                    self._event(kind="payload_cap", cell=cell_index)
            return None  # never an output of the notebook
        if mtype in ("stream", "display_data", "execute_result", "update_display_data"):
            size = len(content.get("text", "")) if mtype == "stream" else len(json.dumps(content.get("data", {})))
            used = self._out_bytes.get(cell_index, 0) + size
            self._out_bytes[cell_index] = used
            if used > self.limits.output_kb * 1024:
                if cell_index not in self._truncated:
                    self._truncated.add(cell_index)
                    self._event(kind="output_truncated", cell=cell_index)
                return None
        return super().process_message(msg, cell, cell_index)

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> NotebookNode:
        """Execute the notebook (see the module docstring); returns it with outputs."""
        self.reset_execution_trackers()
        start = time.monotonic()
        budget = self.limits.wall_seconds
        restarts = 0
        give_up = None
        with self.setup_kernel():
            for index, cell in enumerate(self.nb.cells):
                role = cell_role(cell)
                if cell.cell_type != "code" or role not in RUN_ROLES:
                    continue
                if role == "test" and not self.snapshot:
                    self.snapshot = {i: copy.deepcopy(c.get("outputs", [])) for i, c in enumerate(self.nb.cells[:index])
                                     if c.cell_type == "code"}
                if give_up is None and time.monotonic() - start > budget:
                    give_up = f"the submission used up its {budget} s grading budget"
                    self._event(kind="budget", cell=index)
                if give_up is not None:
                    cell.outputs = [error_output("NotRun", f"not run: {give_up}")]
                    continue
                try:
                    self.execute_cell(cell, index, store_history=True)
                except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as exc:
                    if isinstance(exc, (CellTimeoutError, TimeoutError)):
                        ename, reason = "CellTimeout", f"the cell ran longer than {self.timeout} s (infinite loop?)"
                    else:
                        ename, reason = "KernelDied", _signal_name(self._exit_status())
                    cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
                    cell.outputs.append(error_output(ename, reason))
                    self._failed.add(index)
                    self._event(kind=ename, cell=index, role=role, reason=reason)
                    restarts += 1
                    if restarts > self.max_restarts:
                        give_up = f"the kernel failed {restarts} times"
                        continue
                    try:
                        self._restart_and_replay(index)
                    except Exception as exc2:  # noqa: BLE001 - the replay failed: nothing more can run
                        give_up = f"the kernel could not be restarted ({type(exc2).__name__})"
                        self._event(kind="restart_failed", cell=index, reason=str(exc2)[:200])
                if index in self._truncated:
                    cell.outputs.append(NotebookNode(
                        output_type="stream", name="stdout",
                        text=f"\n[output truncated by the grader after {self.limits.output_kb} KB]\n"))
        if not self.snapshot:
            self.snapshot = {i: copy.deepcopy(c.get("outputs", [])) for i, c in enumerate(self.nb.cells)
                             if c.cell_type == "code"}
        return self.nb

    async def _async_cleanup_kernel(self) -> None:
        if self.km is None:  # a failed restart already cleaned up
            self.kc = None
            return
        await super()._async_cleanup_kernel()

    def _exit_status(self) -> int | None:
        km = self.km
        if km is None:
            return None
        for _ in range(20):  # the process may take a moment to be reaped
            status = km.exit_status() if hasattr(km, "exit_status") else None
            if status is not None:
                return status
            time.sleep(0.05)
        return None

    async def _async_restart(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        await self.km._async_shutdown_kernel(now=True, restart=True)
        await self.async_start_new_kernel()
        await self.async_start_new_kernel_client()

    def _restart_and_replay(self, upto: int) -> None:
        run_sync(self._async_restart)()
        self._event(kind="restart", cell=upto)
        for i, cell in enumerate(self.nb.cells[:upto]):
            if cell.cell_type != "code" or i in self._failed or cell_role(cell) not in ("setup", "support", "answer"):
                continue
            scratch = copy.deepcopy(cell)
            self.execute_cell(scratch, i, store_history=False)
