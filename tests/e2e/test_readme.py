"""Every `curl` and `grpcurl` example of README.md, run as written against the dev
stack (`make up`), so the README cannot promise what the stack does not do.

The examples name the default ports; a stack on other ports (ENVOY_PORT,
GRPC_PORT) gets them swapped in. curl runs with `--fail-with-body`, so an error
status fails the example as surely as a refused connection.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tests.support.prereq import require

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TOOLS_BIN = ROOT / "dev" / "tools" / "bin"
DEFAULT_HTTP = "localhost:8080"
DEFAULT_GRPC = "localhost:50051"
TIMEOUT_S = 30
FENCE = re.compile(r"^```(?:bash|sh|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)


class StackPorts(BaseSettings):
    """The dev stack's ports, as `dev/stack.sh` reads them."""

    model_config = SettingsConfigDict(extra="ignore")

    envoy_port: int = Field(8080, ge=1, le=65535)
    grpc_port: int = Field(50051, ge=1, le=65535)


def examples(text: str) -> list[str]:
    """The curl and grpcurl commands of the README's shell blocks, continuations joined."""
    commands = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.split(" ", 1)[0] in {"curl", "grpcurl"}:
                commands.append(line)
    return commands


EXAMPLES = examples(README.read_text())


def test_the_readme_has_both_kinds_of_example() -> None:
    """Guards the parser: a README reshuffle must not turn this file into zero tests."""
    programs = {command.split(" ", 1)[0] for command in EXAMPLES}
    assert programs == {"curl", "grpcurl"}


@pytest.mark.parametrize("command", EXAMPLES)
def test_readme_example(command: str) -> None:
    ports = StackPorts()
    program = command.split(" ", 1)[0]
    env = {**os.environ, "PATH": f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    require(
        shutil.which(program, path=env["PATH"]) is not None,
        f"{program} is not installed: `make tools` puts a pinned one in {TOOLS_BIN}",
    )
    argv = shlex.split(
        command.replace(DEFAULT_HTTP, f"localhost:{ports.envoy_port}").replace(
            DEFAULT_GRPC, f"localhost:{ports.grpc_port}"
        )
    )
    if program == "curl":
        argv.insert(1, "--fail-with-body")
    done = subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert done.returncode == 0, (
        f"`{shlex.join(argv)}` exited {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    )
    assert done.stdout.strip(), f"`{shlex.join(argv)}` printed nothing"
