"""Lifecycle of a child server process: start, wait until it listens, stop, kill, restart."""

import abc
import os
from pathlib import Path
import shutil
import subprocess
import tempfile
import time
from types import TracebackType
from typing import IO, Self

from devkit import netstat

_POLL_S = 0.02


class ServerStartError(RuntimeError):
    """A server process exited or stayed silent instead of starting to listen."""


def _orphan_guard() -> list[str]:
    """Command prefix that kills the child if this process dies, so no server outlives a run."""
    # A leaked live555 keeps its fixed port and breaks every later run. util-linux setpriv
    # sets the parent-death signal in the child; preexec_fn could too, but is unsafe
    # with threads, and test processes have many.
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


class ServerProcess(abc.ABC):
    """Base for a server run as a child process whose port is learnt from its output."""

    def __init__(self, *, start_timeout_s: float) -> None:
        """Set how long start() waits for the server to listen."""
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._output = ""
        self._port: int | None = None

    @abc.abstractmethod
    def _command(self) -> tuple[list[str], Path | None, dict[str, str] | None]:
        """Arguments, working directory and environment (None: inherit) of the server."""

    @abc.abstractmethod
    def _find_port(self, output: str) -> int | None:
        """Return the port announced in the output so far, or None if not yet announced."""

    @property
    def port(self) -> int:
        """TCP port of the last successful start."""
        if self._port is None:
            msg = f"{type(self).__name__} has not been started"
            raise RuntimeError(msg)
        return self._port

    @property
    def pid(self) -> int | None:
        """Process id of the current or last server process."""
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """Exit status of the last process once it has ended (negative: killed by signal)."""
        return None if self._proc is None else self._proc.poll()

    def output(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        if self._log is not None:
            fd = self._log.fileno()
            self._output = os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")
        return self._output

    def start(self) -> Self:
        """Launch the server and return once its announced port is listening."""
        if self.running:
            msg = f"{type(self).__name__} is already running"
            raise RuntimeError(msg)
        self._close_log()
        args, cwd, env = self._command()
        # A file rather than a pipe: nobody has to keep draining it once the server is up.
        self._log = tempfile.TemporaryFile(prefix="devkit-server-")  # noqa: SIM115 - kept open
        self._port = None
        self._proc = subprocess.Popen(
            [*_orphan_guard(), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._port = self._await_port(args[0], time.monotonic() + self.start_timeout_s)
        except BaseException:
            self.kill()
            raise
        return self

    def _await_port(self, name: str, deadline: float) -> int:
        """Poll output and socket table until the announced port listens, or fail."""
        assert self._proc is not None  # noqa: S101 - start() just set it
        while True:
            output = self.output()
            port = self._find_port(output)
            # Our own pid must hold the listener: a port in use by someone else doesn't count.
            if port is not None and netstat.is_listening(self._proc.pid, port):
                return port
            code = self._proc.poll()
            if code is not None:
                msg = f"{name} exited with status {code} before listening; output:\n{output}"
                raise ServerStartError(msg)
            if time.monotonic() > deadline:
                msg = f"{name} not listening after {self.start_timeout_s} s; output:\n{output}"
                raise ServerStartError(msg)
            time.sleep(_POLL_S)

    def stop(self, grace_s: float = 2.0) -> None:
        """Terminate politely, kill after grace_s, and reap; does nothing if already stopped."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would, and reap it."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self._close_log()

    def restart(self) -> Self:
        """Stop (if running) and start again with the same settings."""
        self.stop()
        return self.start()

    def _close_log(self) -> None:
        """Keep the final output, then release the log file."""
        if self._log is not None:
            self.output()
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        """Start unless already running."""
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()
