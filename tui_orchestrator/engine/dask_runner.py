"""The Dask executor: each chunk attempt runs on a Dask worker, with the same events and outcome.

``--executor dask://HOST:PORT`` makes the manager hand its jobs to :class:`DaskRunner`
instead of :class:`~tui_orchestrator.engine.runner.ClaudeRunner`. Per job it submits
:func:`~tui_orchestrator.engine.dask_task.run_attempt` with what the chunk needs (the
content of its files, or nothing when the workers share the repository's path; the session
file when it resumes). With whole-repository context (``--context repo``) the repository at
its commit (``git archive``) is made once per run and scattered to every worker once; each
task depends on that one future, so no task carries it. The runner then follows the job's
``distributed.Queue`` live: each stream line
becomes the same typed events as a local process's, the raw lines go to the chunk's log,
and the session file is kept under ``.claude-tui/sessions/`` as it grows (after each turn),
so a later attempt resumes on any machine.

Failures map onto the manager's failure matrix: a worker that dies mid-chunk is a CRASH (the
manager resumes the chunk from its last saved session, one more attempt); a scheduler that
cannot be reached or goes away is an OUTAGE (the circuit breaker pauses dispatch). Pause and
cancel cancel ``run``: it sets the job's stop ``distributed.Event`` and the worker ends the
process within about a second. Rate limits stay pool-wide: every outcome reaches the one
manager.

``distributed`` is imported lazily: the engine imports without the ``[dask]`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import socket
import subprocess
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tui_orchestrator.engine.dask_protocol import (
    CLAUDE_NOT_FOUND,
    EndMessage,
    Message,
    SessionMessage,
    TaskSpec,
    bye_message,
    queue_names,
)
from tui_orchestrator.engine.dask_task import claude_projects_dir, project_key, run_attempt
from tui_orchestrator.engine.errors import ClaudeNotFoundError, ConfigError, ExecutorError
from tui_orchestrator.engine.findings import Finding
from tui_orchestrator.engine.runner import (
    ChunkLog,
    ClaudeRunner,
    Emit,
    Job,
    Outcome,
    OutcomeKind,
    Runner,
    meta_line,
    open_log,
    outcome_of,
)
from tui_orchestrator.engine.statedir import sessions_dir
from tui_orchestrator.engine.stream import (
    Placed,
    Result,
    StreamEvent,
    ToolResult,
    ToolUse,
    parse_line,
)
from tui_orchestrator.engine.wording import plural

DEFAULT_PORT = 8786
CONNECT_TIMEOUT_S = 10.0
# Without a message for this long, the runner checks that the task, its worker and the
# scheduler are still there.
POLL_S = 1.0
# A scheduler that does not answer a question within this is gone.
RPC_GRACE_S = 15.0
# After a stop request: how long to wait for the last session growth and the end message.
ABORT_WAIT_S = 3.0
HOSTS_TTL_S = 1.0
# The worker enforces the chunk's time limit; the client gives up this much later.
CLIENT_TIMEOUT_SLACK_S = 60.0
_SESSION_ID = re.compile(r"[A-Za-z0-9-]{1,100}")
_TOOL_RESULT_ID = re.compile(rb'"tool_use_id"\s*:\s*"([^"]+)"')


class SchedulerUnavailable(Exception):
    """The Dask scheduler cannot be reached, or the connection to it was lost."""


class HostLost(Exception):
    """The Dask worker that ran the attempt died (or the task failed there)."""


def scheduler_address(executor: str) -> str:
    """``dask://HOST:PORT`` (or ``dask://tls://HOST:PORT``) as a Dask address."""
    rest = executor.strip().removeprefix("dask://")
    proto, sep, where = rest.partition("://")
    if not sep:
        proto, where = "tcp", rest
    host, colon, port = where.rpartition(":")
    if not colon:
        host, port = where, str(DEFAULT_PORT)
    if not host or not port.isdigit() or "/" in where:
        raise ExecutorError(f"--executor {executor}: expected dask://HOST:PORT")
    return f"{proto}://{host}:{port}"


def repo_commit(root: Path) -> str:
    """The commit checked out at ``root`` (``--context repo`` ships it), or ConfigError."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        raise ConfigError(f"--context repo needs git, which cannot be run here ({root})") from None
    if done.returncode != 0:
        inside = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        what = "has no commit yet" if inside.returncode == 0 else "is not a git checkout"
        raise ConfigError(f"--context repo needs a git checkout with a commit: {root} {what}")
    return done.stdout.decode().strip()


def repo_archive(root: Path, commit: str) -> bytes:
    """The repository at ``commit`` as a tar archive (``git archive``; paths relative to
    ``root``, which may be a folder inside the checkout)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", commit],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise ConfigError(f"--context repo: cannot run git archive: {exc.strerror}") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(
            f"--context repo: git archive failed in {root}: {detail[-1] if detail else ''}"
        )
    return done.stdout


def repo_key(root: Path) -> str:
    """The name of the repository's folder on workers: stable for one checkout on one machine."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", root.name)[:40] or "repo"
    digest = hashlib.blake2b(f"{socket.gethostname()}:{root}".encode(), digest_size=6)
    return f"{name}-{digest.hexdigest()}"


@dataclass(slots=True)
class _Attempt:
    """What the client knows of one submitted attempt."""

    job: Job
    emit: Emit
    log: ChunkLog | None
    sessions: Path
    key: str
    host: str = ""
    address: str = ""  # the Dask address of the host that runs it
    root: str = ""
    result: Result | None = None
    end: EndMessage | None = None
    deadline: float | None = None
    # The one read of the job's queue in flight. Reads wait without a timeout: a timed-out
    # read is logged as an error by the scheduler, and a cancelled one could lose a message.
    getter: asyncio.Future[Any] | None = None
    finished_checks: int = 0
    # Tool results are reported once the session shipped back holds them (see _lines).
    durable: set[str] = field(default_factory=set)
    waiting: list[ToolResult] = field(default_factory=list)


class DaskRunner(Runner):
    """Runs each job on a Dask cluster; see the module docstring."""

    backend = "claude"
    local_processes = False  # on the Dask hosts, with their memory

    def __init__(
        self,
        address: str,
        claude_bin: str = "",
        model: str = "",
        max_turns: int = 0,
        bare: bool = False,
        shared_root: str | None = None,
        state_dir: Path | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        context: str = "chunk",
    ) -> None:
        self.executor = address
        self.address = scheduler_address(address)
        # The workers resolve the binary on their own PATH unless the user named one.
        self.cli = ClaudeRunner(claude_bin or "claude", model=model, max_turns=max_turns, bare=bare)
        self.shared_root = shared_root or None
        # "repo": the workers get the repository at its commit too (nothing to ship with a
        # shared root: the workers read it there).
        self.context = context
        self.ships_repo = context == "repo" and not self.shared_root
        self.run_id = uuid.uuid4().hex[:8]
        # Per repository: its commit and archive (made once a run), and the scattered future.
        self._repos: dict[Path, tuple[str, bytes]] = {}
        self._archives: dict[Path, tuple[Any, Any]] = {}
        self._archive_lock: asyncio.Lock | None = None
        # What was scattered: (Dask key, bytes), one entry a shipment.
        self.shipped: list[tuple[str, int]] = []
        # None: ``<repo>/.claude-tui`` of each job's repository.
        self.state_dir = state_dir
        self.connect_timeout_s = connect_timeout_s
        # The machine of each chunk's latest attempt ("" until a worker took it).
        self.hosts: dict[str, str] = {}
        self.host = ""
        # What ``check`` found: one line for the user ("2 workers, 8 threads").
        self.cluster = ""
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._hosts: set[str] = set()
        self._hosts_at = float("-inf")

    # ------------------------------------------------------------------ connection

    def check(self) -> str:
        """Connect once, before the run: one line about the cluster, or ExecutorError."""
        proto, _, where = self.address.partition("://")
        if proto == "tcp":
            host, _, port = where.rpartition(":")
            try:
                socket.create_connection(
                    (host.strip("[]"), int(port)), self.connect_timeout_s
                ).close()
            except OSError as exc:
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {self.executor}: "
                    f"{exc.strerror or exc} (start one with `dask scheduler`)"
                ) from None

        async def probe() -> dict[str, int]:
            from distributed import Client

            client = await Client(
                self.address,
                asynchronous=True,
                timeout=self.connect_timeout_s,
                set_as_default=False,
            )
            try:
                return dict(await client.nthreads())
            finally:
                await client.close()

        try:
            nthreads = asyncio.run(probe())
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {self.executor}: {exc}"
            ) from None
        threads = sum(nthreads.values())
        self.cluster = (
            f"Dask scheduler {self.address}: {plural(len(nthreads), 'worker')}, "
            f"{plural(threads, 'thread')}"
        )
        if not threads:
            self.cluster += "; chunks wait until a worker joins (`dask worker ADDRESS`)"
        return self.cluster

    async def _connect(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A client belongs to the loop that made it (the app and tests may use several).
            self._loop, self._lock, self._client = loop, asyncio.Lock(), None
            self._archive_lock = asyncio.Lock()
        assert self._lock is not None
        async with self._lock:
            client = self._client
            if client is not None and client.status == "running":
                return client
            self._client = None
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.close(), 5)
            from distributed import Client

            try:
                client = await asyncio.wait_for(
                    Client(
                        self.address,
                        asynchronous=True,
                        timeout=self.connect_timeout_s,
                        set_as_default=False,
                    ),
                    self.connect_timeout_s + 5,
                )
            except (OSError, TimeoutError, ValueError) as exc:
                raise SchedulerUnavailable(
                    f"the Dask scheduler at {self.executor} cannot be reached ({exc})"
                ) from None
            self._client = client
            self._hosts_at = float("-inf")
            return client

    async def aclose(self) -> None:
        """Close the connection to the scheduler (the run is over)."""
        client, self._client = self._client, None
        archives, self._archives = self._archives, {}
        for _, future in archives.values():
            # The workers drop the repository's copy once its archive is gone.
            with contextlib.suppress(Exception):
                future.release()
        if client is not None and self._loop is asyncio.get_running_loop():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)

    async def _live_hosts(self, client: Any) -> set[str]:
        now = asyncio.get_running_loop().time()
        if now - self._hosts_at > HOSTS_TTL_S:
            self._hosts = set(await asyncio.wait_for(client.nthreads(), RPC_GRACE_S))
            self._hosts_at = now
        return self._hosts

    # ------------------------------------------------------------------ the repository

    def prepare(self, root: Path) -> str:
        """Before the run: with ``--context repo``, make the repository's archive (once).

        Returns a line for the user ("" when there is nothing to say); ConfigError outside
        a git checkout.
        """
        if self.context == "repo" and self.shared_root:
            return "--context repo changes nothing with --shared-root: workers read it there"
        if not self.ships_repo:
            return ""
        root = Path(root)
        if root not in self._repos:
            commit = repo_commit(root)
            self._repos[root] = (commit, repo_archive(root, commit))
        commit, data = self._repos[root]
        return (
            f"--context repo: the repository at commit {commit[:12]} "
            f"({len(data) / 1e6:.1f} MB as tar) goes to each Dask worker once"
        )

    def archive_key(self, root: Path) -> str:
        """The Dask key of the repository's archive in this run."""
        commit = self._repos[root][0]
        return f"claude-tui-repo-{repo_key(root)}-{commit[:12]}-{self.run_id}"

    async def _archive(self, client: Any, root: Path) -> Any:
        """The future of the repository's archive, scattered to every worker once a run.

        Scattered again only when this client did not scatter it or the cluster lost it
        (every worker that held it died).
        """
        assert self._archive_lock is not None
        async with self._archive_lock:
            held = self._archives.get(root)
            if held is not None and held[0] is client and held[1].status == "finished":
                return held[1]
            if root not in self._repos:
                await asyncio.to_thread(self.prepare, root)
            data = self._repos[root][1]
            key = self.archive_key(root)
            # Broadcast needs a worker; without one the tasks would wait anyway.
            await client.wait_for_workers(1)
            futures = await client.scatter({key: data}, broadcast=True)
            self._archives[root] = (client, futures[key])
            self.shipped.append((key, len(data)))
            return futures[key]

    # ------------------------------------------------------------------ one job

    async def run(self, job: Job, emit: Emit) -> Outcome:
        if (
            job.resume
            and not self.shared_root
            and not await asyncio.to_thread(self._saved_session, job)
        ):
            # Nothing of this session ever came back (its worker died in the first turn):
            # no machine can resume it, so say so at once rather than after a CLI start.
            return Outcome(
                OutcomeKind.SESSION_MISSING,
                stderr_tail=f"No conversation found with session ID: {job.session_id} "
                "(nothing of it came back from the worker that ran it)",
            )
        try:
            client = await self._connect()
        except SchedulerUnavailable as exc:
            return Outcome(OutcomeKind.OUTAGE, stderr_tail=str(exc))
        from distributed import Event, Queue

        archive: Any = None
        if self.ships_repo:
            try:
                archive = await self._archive(client, job.root)
            except ConfigError as exc:
                return Outcome(OutcomeKind.FAILED, stderr_tail=str(exc))
            except (OSError, TimeoutError) as exc:
                return Outcome(
                    OutcomeKind.OUTAGE,
                    stderr_tail=f"cannot send the repository to the Dask workers ({exc!r})",
                )
        token = uuid.uuid4().hex[:12]
        spec = await asyncio.to_thread(self._spec, job, token)
        slug = re.sub(r"[^A-Za-z0-9_.]", "_", job.chunk)[:60]
        attempt = _Attempt(
            job=job,
            emit=emit,
            log=open_log(job, spec["argv"]),
            sessions=self._sessions(job.root),
            key=spec["repo_key"],
        )
        future: Any = None
        queue: Any = None
        stop: Any = None
        claimed: Any = None
        outcome: Outcome | None = None
        try:
            try:
                queue = await asyncio.wait_for(Queue(spec["queue"], client=client), RPC_GRACE_S)
                stop = Event(spec["stop"], client=client)
                claimed = Event(spec["claimed"], client=client)
                future = client.submit(
                    run_attempt, spec, archive, key=f"claude-tui-{slug}-{token}", pure=False
                )
                outcome = await self._follow(client, queue, future, attempt)
            except asyncio.CancelledError:
                # Paused, cancelled or shutting down: the remote process must stop too.
                await asyncio.shield(self._abort(queue, stop, future, attempt))
                raise
            except SchedulerUnavailable as exc:
                outcome = Outcome(OutcomeKind.OUTAGE, stderr_tail=str(exc))
            except HostLost as exc:
                outcome = Outcome(OutcomeKind.CRASH, stderr_tail=str(exc))
            except (OSError, TimeoutError) as exc:
                outcome = Outcome(
                    OutcomeKind.OUTAGE,
                    stderr_tail=f"lost the Dask scheduler at {self.executor} ({exc!r})",
                )
        finally:
            await asyncio.shield(self._release(client, future, queue, stop, claimed, attempt))
            self._close_log(attempt, outcome)
        return outcome

    def _spec(self, job: Job, token: str) -> TaskSpec:
        """What the task needs, read here (in a thread): files, session, argv."""
        files: dict[str, bytes] | None = None
        if not self.shared_root:
            files = {}
            for rel in job.files:
                with contextlib.suppress(OSError):  # gone since the plan: the agent says so
                    files[rel] = (job.root / rel).read_bytes()
        session = self._saved_session(job) if job.resume else None
        queue, stop, claimed = queue_names(token)
        return {
            "argv": self.cli.argv(job),
            "files": files,
            "shared_root": self.shared_root,
            "repo_key": repo_key(job.root),
            "archive_key": self.archive_key(job.root) if self.ships_repo else "",
            "session_id": job.session_id,
            "session": session,
            "timeout_s": job.timeout_s,
            "queue": queue,
            "stop": stop,
            "claimed": claimed,
        }

    def _sessions(self, root: Path) -> Path:
        return self.state_dir / "sessions" if self.state_dir else sessions_dir(root)

    def _saved_session(self, job: Job) -> bytes | None:
        """The chunk's session as last shipped back; else one a local run left (same id)."""
        if not _SESSION_ID.fullmatch(job.session_id):
            return None
        kept = self._sessions(job.root) / f"{job.session_id}.jsonl"
        with contextlib.suppress(OSError):
            return kept.read_bytes()
        local = claude_projects_dir() / project_key(os.path.realpath(job.root))
        try:
            data = (local / f"{job.session_id}.jsonl").read_bytes()
        except OSError:
            return None
        # Kept here too: what the worker appends is written after it.
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(data)
        return data

    async def _follow(self, client: Any, queue: Any, future: Any, attempt: _Attempt) -> Outcome:
        """Consume the job's queue until its end message; raise what went wrong."""
        while attempt.end is None:
            message = await self._receive(queue, attempt, POLL_S)
            if message is None:
                await self._check(client, future, attempt)
            else:
                self._handle(attempt, message)
        return self._outcome(attempt)

    async def _receive(self, queue: Any, attempt: _Attempt, wait: float) -> Message | None:
        """The next message, or None after ``wait`` seconds without one (the read stays)."""
        if attempt.getter is None:
            attempt.getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait({attempt.getter}, timeout=wait)
        if not done:
            return None
        getter, attempt.getter = attempt.getter, None
        return getter.result()

    async def _check(self, client: Any, future: Any, attempt: _Attempt) -> None:
        """No message for a while: are the task, its worker and the scheduler still there?"""
        if client.status != "running":
            raise SchedulerUnavailable(
                f"lost the connection to the Dask scheduler at {self.executor}"
            )
        if future.done():
            if future.status == "finished":
                # Its end message was queued before it returned: give it a moment.
                attempt.finished_checks += 1
                if attempt.finished_checks >= 3:
                    self._handle(attempt, await future.result())
                return
            if future.status == "cancelled":
                raise SchedulerUnavailable(
                    f"the Dask scheduler at {self.executor} dropped the task"
                )
            exc = await future.exception()
            if type(exc).__name__ == "KilledWorker":
                raise HostLost(f"Dask workers kept dying while running this chunk ({exc})")
            raise HostLost(f"the Dask task failed on the worker: {exc!r}")
        if attempt.address and attempt.address not in await self._live_hosts(client):
            raise HostLost(
                f"the Dask worker {attempt.host} died mid-chunk; resuming from the last session"
            )
        loop_time = asyncio.get_running_loop().time()
        if attempt.deadline is not None and loop_time > attempt.deadline:
            raise HostLost(f"the Dask worker {attempt.host} stopped reporting")

    def _handle(self, attempt: _Attempt, message: Message) -> None:
        if message["k"] == "lines":
            self._lines(attempt, message["lines"])
        elif message["k"] == "session":
            self._store_session(attempt, message)
        elif message["k"] == "start":
            attempt.host = str(message["host"])
            attempt.address = str(message["address"])
            attempt.root = str(message["root"])
            loop_time = asyncio.get_running_loop().time()
            attempt.deadline = loop_time + attempt.job.timeout_s + CLIENT_TIMEOUT_SLACK_S
            self.hosts[attempt.job.chunk] = self.host = attempt.host
            if attempt.log:
                meta = {"host": attempt.host, "root": attempt.root}
                if self.ships_repo:
                    # Did this attempt unpack the repository, or find it there?
                    meta["unpacked"] = bool(message.get("unpacked"))
                attempt.log.write(meta_line(meta))
            attempt.emit(Placed(attempt.host))
        elif message["k"] == "end":
            attempt.end = message
        elif message["k"] == "lost":
            raise HostLost(
                "the Dask worker that ran this attempt died; resuming from the last session"
            )

    def _lines(self, attempt: _Attempt, lines: list[str]) -> None:
        for line in lines:
            if attempt.log:
                attempt.log.write(line.encode("utf-8", "replace") + b"\n")
            for event in parse_line(line):
                event = self._localise(attempt, event)
                if isinstance(event, Result):
                    attempt.result = event
                if (
                    isinstance(event, ToolResult)
                    and not event.is_error
                    and event.tool_use_id not in attempt.durable
                ):
                    # A file counts as read (and is not offered again on resume) only once
                    # the session kept here holds its contents: the CLI prints a tool result
                    # before it writes it to the session, and the session comes back later.
                    attempt.waiting.append(event)
                    continue
                attempt.emit(event)

    def _store_session(self, attempt: _Attempt, message: SessionMessage) -> None:
        session_id = str(message.get("id", ""))
        if not _SESSION_ID.fullmatch(session_id):
            return
        offset = int(message["offset"])
        path = attempt.sessions / f"{session_id}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        if offset and (not path.exists() or path.stat().st_size < offset):
            return  # a gap would corrupt it; the next attempt resumes from what is whole
        with open(path, "r+b" if offset else "wb") as handle:
            handle.seek(offset)
            handle.write(message["data"])
            handle.truncate()
        attempt.durable.update(
            m.decode("utf-8", "replace") for m in _TOOL_RESULT_ID.findall(message["data"])
        )
        ready = [e for e in attempt.waiting if e.tool_use_id in attempt.durable]
        if ready:
            attempt.waiting = [e for e in attempt.waiting if e.tool_use_id not in attempt.durable]
            for event in ready:
                attempt.emit(event)

    def _outcome(self, attempt: _Attempt) -> Outcome:
        end = attempt.end or {}
        error = str(end.get("error") or "")
        where = f"the Dask worker {attempt.host}" if attempt.host else "a Dask worker"
        if error.startswith(CLAUDE_NOT_FOUND):
            detail = error.partition(": ")[2]
            raise ClaudeNotFoundError(
                f"Claude Code not found on {where}: {detail}; install it there "
                "(npm install -g @anthropic-ai/claude-code) or give --claude-bin"
            )
        if error:
            return Outcome(OutcomeKind.CRASH, stderr_tail=f"{where}: {error}")
        root = Path(attempt.root) if attempt.root else None
        stderr = str(end.get("stderr") or "")
        exit_code = end.get("exit")
        outcome = outcome_of(
            attempt.job, attempt.result, exit_code, stderr, bool(end.get("timed_out")), root
        )
        if outcome.findings:
            outcome.findings = [self._relocate_finding(attempt, f) for f in outcome.findings]
        return outcome

    # ------------------------------------------------------------------ paths

    def _relocate(self, attempt: _Attempt, path: str) -> str | None:
        """A worker path as the same file under the local repository (None: not one)."""
        local = str(attempt.job.root)
        root = attempt.root
        if root and (path == root or path.startswith(root + "/")):
            return local + path[len(root) :]
        # A path from an earlier attempt on another machine (the session's history).
        marker = f"/{attempt.key}/"
        if not self.shared_root and marker in path:
            return f"{local}/{path.split(marker, 1)[1]}"
        return None

    def _localise(self, attempt: _Attempt, event: StreamEvent) -> StreamEvent:
        """Tool calls name worker paths: progress and activity need the local ones."""
        if not isinstance(event, ToolUse):
            return event
        changed = False
        data = dict(event.input)
        for name, value in event.input.items():
            if isinstance(value, str):
                local = self._relocate(attempt, value)
                if local is not None:
                    data[name] = local
                    changed = True
        return replace(event, input=data) if changed else event

    def _relocate_finding(self, attempt: _Attempt, finding: Finding) -> Finding:
        if not os.path.isabs(finding.file):
            return finding
        local = self._relocate(attempt, finding.file)
        if local is None:
            return finding
        relative = local[len(str(attempt.job.root)) :].lstrip("/")
        return replace(finding, file=relative)

    # ------------------------------------------------------------------ ending

    async def _abort(self, queue: Any, stop: Any, future: Any, attempt: _Attempt) -> None:
        """Ask the worker to end the process; keep its last session growth if it comes."""
        if stop is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(stop.set(), 5)
        if future is None or queue is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ABORT_WAIT_S
        while attempt.end is None and loop.time() < deadline:
            try:
                message = await self._receive(queue, attempt, 0.25)
            except Exception:
                return
            if message is None:
                if future.done() and future.status != "finished":
                    return
                continue
            with contextlib.suppress(Exception):
                self._handle(attempt, message)

    async def _release(
        self, client: Any, future: Any, queue: Any, stop: Any, claimed: Any, attempt: _Attempt
    ) -> None:
        """Forget the job on the scheduler (bounded: the scheduler may be gone)."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                if future is not None:
                    if not future.done():
                        # A queued task never starts; a running one is released, and its
                        # worker stops the process.
                        await client.cancel(future)
                    future.release()
                for event in (stop, claimed):
                    if event is not None:
                        await event.clear()
                getter = attempt.getter
                if getter is not None and not getter.done():
                    # Answer the read in flight, so it does not wait on the scheduler forever.
                    await queue.put(bye_message())
                    await asyncio.wait({getter}, timeout=2)
        getter, attempt.getter = attempt.getter, None
        if getter is not None:
            if getter.done():
                with contextlib.suppress(BaseException):
                    getter.result()
            else:
                getter.cancel()
        if queue is not None:
            with contextlib.suppress(Exception):
                queue.close()

    def _close_log(self, attempt: _Attempt, outcome: Outcome | None) -> None:
        log = attempt.log
        if log is None:
            return
        if outcome is not None and outcome.result is None and attempt.end is None:
            # Lost worker or scheduler: no process output says so, this line does.
            log.write(meta_line({"error": outcome.message, "kind": outcome.kind.value}))
        end = attempt.end or {}
        stderr = str(end.get("stderr") or "")
        if stderr.strip():
            log.write(meta_line({"stderr": stderr[-1000:]}))
        log.write(
            meta_line(
                {
                    "exit": end.get("exit"),
                    "timed_out": bool(end.get("timed_out")),
                    "host": attempt.host,
                    **({"stopped": end["stopped"]} if end.get("stopped") else {}),
                }
            )
        )
        log.close()
