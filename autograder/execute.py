"""nbgrader's execute step, made robust for a class: sandboxed kernels, crash recovery, output caps.

:class:`GuardedExecute` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``.
It differs in four ways:

- the kernel is a :class:`~autograder.sandbox.SandboxedKernelManager` kernel;
- a cell that runs past the cell timeout, or that kills the kernel (``os._exit``, a crash, a
  resource limit), gets an error output naming the reason (``CellTimeout`` / ``KernelDied``);
  the kernel is then restarted and the state-building cells before it (setup, the student's
  answers, the grader's guards; never test cells, never the cell that failed) are replayed
  silently, and grading continues with the next cell, so one bad exercise costs only its
  own points;
- a cell's output beyond ``Limits.output_kb`` is dropped (with a note), so a 100 MB print
  cannot swamp the grader;
- the submission has a wall-clock budget; cells after it is spent are marked ``NotRun``.

Events (timeouts, deaths, truncations) are appended as JSON lines to ``events_path``.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from .sandbox import Limits, SandboxedKernelManager

__all__ = ["ROLE_KEY", "GuardedExecute", "cell_role"]

ROLE_KEY = "bpl_role"  # cell metadata: prelude / guard / setup / answer / test / other


def cell_role(cell) -> str:
    return cell.get("metadata", {}).get(ROLE_KEY, "other")


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


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class GuardedExecute(Execute):
    """nbgrader ``Execute`` with sandboxed kernels, crash recovery and output caps."""

    events_path = Unicode("", help="append JSON events here").tag(config=True)
    limits_json = Unicode("", help="Limits as JSON").tag(config=True)
    max_restarts = Integer(6, help="kernel restarts per submission before giving up").tag(config=True)

    interrupt_on_timeout = False  # a timed-out kernel is killed and replaced, never trusted again

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    # -- bookkeeping -------------------------------------------------------------------------
    @property
    def limits(self) -> Limits:
        return Limits.from_json(self.limits_json)

    def _event(self, **ev) -> None:
        self._events.append(ev)
        if self.events_path:
            with open(self.events_path, "a") as f:
                f.write(json.dumps(ev) + "\n")

    # -- output cap ---------------------------------------------------------------------------
    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") in ("stream", "display_data", "execute_result", "update_display_data"):
            content = msg.get("content", {})
            size = len(content.get("text", "")) if msg["msg_type"] == "stream" else len(json.dumps(content.get("data", {})))
            used = self._out_bytes.get(cell_index, 0) + size
            self._out_bytes[cell_index] = used
            if used > self.limits.output_kb * 1024:
                if cell_index not in self._truncated:
                    self._truncated.add(cell_index)
                    self._event(kind="output_truncated", cell=cell_index, cell_id=cell.get("id"))
                return None
        return super().process_message(msg, cell, cell_index)

    # -- the loop -------------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._events, self._out_bytes, self._truncated = [], {}, set()
        self._failed: set[int] = set()
        start = time.monotonic()
        budget = self.limits.wall_seconds
        with self.setup_kernel():
            info_msg = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
            restarts = 0
            give_up = None
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if give_up is None and time.monotonic() - start > budget:
                    give_up = f"the submission used up its {budget} s grading budget"
                    self._event(kind="budget", cell=index, cell_id=cell.get("id"))
                if give_up is not None:
                    cell.outputs = [_error("NotRun", f"not run: {give_up}")]
                    continue
                try:
                    self.execute_cell(cell, index, store_history=True)
                except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as exc:
                    if isinstance(exc, (CellTimeoutError, TimeoutError)):
                        ename, reason = "CellTimeout", f"the cell ran longer than {self.timeout} s (infinite loop?)"
                    else:
                        ename, reason = "KernelDied", _signal_name(self._exit_status())
                    cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
                    cell.outputs.append(_error(ename, reason))
                    self._failed.add(index)
                    self._event(kind=ename, cell=index, cell_id=cell.get("id"), role=cell_role(cell), reason=reason)
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
        self.set_widgets_metadata()
        return self.nb, self.resources

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
            if cell.cell_type != "code" or i in self._failed or cell_role(cell) == "test":
                continue
            scratch = copy.deepcopy(cell)
            self.execute_cell(scratch, i, store_history=False)


def events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
