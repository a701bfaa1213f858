"""Whole-process timing: wall clock of a subprocess with stdout to a pipe, and its peak RSS."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchdb import BenchError

# A fresh child that runs the command and reports its children's peak RSS (KiB on Linux),
# so earlier children of the benchmark do not count.
# Runs a command, prints its peak RSS (KiB) and exits with the command's own exit code, so
# that a command that failed is never measured as if it had worked.
RSS_WRAPPER = """\
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr.decode(errors="replace")[-2000:])
sys.exit(done.returncode)
"""


@dataclass(frozen=True)
class Command:
    label: str
    argv: Sequence[str]
    ok_codes: tuple[int, ...] = (0,)


@dataclass
class Environment:
    env: Mapping[str, str]
    cwd: str
    runs: int


@dataclass
class Samples:
    command: Command
    seconds: list[float] = field(default_factory=list)
    output: str = ""  # stdout of the last run

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def run_once(command: Command, where: Environment) -> tuple[float, str]:
    """Wall-clock seconds of one run, and its stdout; a wrong exit code is an error."""
    started = time.perf_counter()
    done = subprocess.run(
        command.argv,
        capture_output=True,
        env=dict(where.env),
        cwd=where.cwd,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in command.ok_codes:
        raise BenchError(
            f"{command.label}: exit code {done.returncode}, expected "
            f"{'/'.join(map(str, command.ok_codes))}: {done.stderr.decode().strip()[:500]}"
        )
    return elapsed, done.stdout.decode()


def time_pair(subject: Command, floor: Command, where: Environment) -> tuple[Samples, Samples]:
    """Both commands `runs` times, alternating, after one untimed warm-up run of each."""
    print(f"  {subject.label} vs {floor.label} …", end="", file=sys.stderr, flush=True)
    run_once(subject, where)
    run_once(floor, where)
    a, b = Samples(subject), Samples(floor)
    for _ in range(where.runs):
        for samples in (a, b):
            seconds, samples.output = run_once(samples.command, where)
            samples.seconds.append(seconds)
    print(f" {a.median:.3f} s vs {b.median:.3f} s", file=sys.stderr, flush=True)
    return a, b


def peak_rss_mib(command: Command, where: Environment, runs: int = 3) -> float:
    """The largest peak resident set size of `runs` runs, in MiB."""
    peaks = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", RSS_WRAPPER, *command.argv],
            capture_output=True,
            text=True,
            env=dict(where.env),
            cwd=where.cwd,
        )
        if done.returncode not in command.ok_codes:
            raise BenchError(f"{command.label} failed: {done.stderr.strip()[-500:]}")
        peaks.append(int(done.stdout.strip()) / 1024)
    return max(peaks)


def venv_arkinctl() -> str:
    """The `arkinctl` of the venv whose Python runs the bench."""
    beside = Path(sys.executable).parent / "arkinctl"
    if not beside.exists():
        raise BenchError("run this with the project's venv python (arkinctl not found)")
    return str(beside)


def arkinctl_env(url: str, **extra: str) -> dict[str, str]:
    """This environment without ARKINCTL_* settings, on `url`, acting as the bench user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARKINCTL_")}
    ours = {"ARKINCTL_DATABASE_URL": url, "ARKINCTL_USER": "bench", "NO_COLOR": "1"}
    return {**env, **ours, **extra}


def timed_with_rss(argv: list[str], env: Mapping[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one whole-process run; stdout is read and dropped."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, *argv], capture_output=True, text=True, env=dict(env)
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"{argv[1:4]} failed: {done.stderr.strip()[:500]}")
    return seconds, int(done.stdout.strip()) / 1024
