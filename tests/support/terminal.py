"""Running ``commerce`` with its stderr on a pseudo-terminal, as an operator sees it
(progress bars are drawn only on a terminal)."""

import os
import pty
import subprocess
from pathlib import Path

from tests.support.processes import COMMERCE

__all__ = ["run_on_terminal"]


def run_on_terminal(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    """``commerce <args>`` with ``env`` (over this environment minus ``COMMERCE_*``) in
    ``cwd``; returns the exit code, stdout and everything written to the terminal."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [COMMERCE, *args],
        env=base | env | {"COLUMNS": "100", "TERM": "xterm"},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the process closed its end of the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    stdout, _ = process.communicate(timeout=120)
    return process.returncode, stdout.decode(), shown.decode(errors="replace")
