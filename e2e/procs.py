"""Child processes in their own process groups, stopped politely and then for certain."""

from collections.abc import Mapping, Sequence
import contextlib
import os
from pathlib import Path
import shutil
import signal
import subprocess
import time
from typing import Self

from devkit import netstat


class ProcessError(RuntimeError):
    """A child process exited or failed to become ready."""


def _orphan_guard() -> list[str]:
    """Prefix that kills the child if we die; in the hermetic root the pid namespace does too."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


class Child:
    """One child process, leader of its own process group, its output in a log file."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Start it now."""
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            # A session of its own: Ctrl-C in the terminal reaches only us, so we decide the
            # order of shutdown (Home Assistant first, then the camera it reads from).
            self._proc = subprocess.Popen(
                [*_orphan_guard(), *args],
                cwd=cwd,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """Process id (also the process group id)."""
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once it has ended (negative: killed by that signal), else None."""
        return self._proc.poll()

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._proc.poll() is None

    def check_alive(self) -> None:
        """Raise ProcessError, with the end of its log, if the process has exited."""
        code = self._proc.poll()
        if code is not None:
            msg = f"{self.name} exited with status {code}; last log lines:\n{self.log_tail()}"
            raise ProcessError(msg)

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the child's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float) -> None:
        """SIGTERM the whole group, SIGKILL it after grace_s; returns once the leader is reaped."""
        if self.alive():
            self._signal_group(signal.SIGTERM)
            try:
                self._proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                print(f"[e2e] {self.name} ignored SIGTERM for {grace_s:.0f} s; killing it")
        # Also reaps helpers the leader left behind in its group.
        self._signal_group(signal.SIGKILL)
        self._proc.wait()

    def _signal_group(self, sig: signal.Signals) -> None:
        """Send sig to the child's process group, if it still exists."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop(5.0)


def start_live555(media_dir: Path, log_path: Path, timeout_s: float = 15.0) -> tuple[Child, int]:
    """Start live555MediaServer on media_dir and return it with the port it listens on."""
    child = Child("live555MediaServer", ["live555MediaServer"], log_path, cwd=media_dir)
    # live555 takes 554 as root, otherwise (or if 554 is taken) 8554. Its banner names the port
    # only when the machine has a non-loopback address, so watch the socket table instead
    # (setpriv execs the server: the child's pid is the one holding the socket).
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        child.check_alive()
        for port in (554, 8554):
            if netstat.is_listening(child.pid, port):
                return child, port
        time.sleep(0.1)
    child.stop(2.0)
    msg = f"live555MediaServer not listening after {timeout_s} s:\n{child.log_tail()}"
    raise ProcessError(msg)
