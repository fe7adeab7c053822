"""``scan/cut.py``: a long range cut at tags into parts that separate git walks read, each
commit in exactly one part; a cut that proves wrong is read again whole; several worker
processes give what one gives."""

from __future__ import annotations

import itertools
import subprocess
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gitrepo import IDENTITY, Repo, shallow_clone
from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import CheckContext
from send_mergereq.checks.runner import EnabledCheck, RunResult
from send_mergereq.history import CommitRange
from send_mergereq.scan import cut as range_parts
from send_mergereq.scan.range_check import check_range
from send_mergereq.scan.walk import BrokenCut, Part, read_part, resolve_range, whole

DAY = 86400
STEP = 5 * DAY  # between two "days" of work: 400 of them span five and a half years
START = 1_400_000_000


def dated(repo: Repo, subject: str, day: int, *, signoff: bool = True) -> str:
    """A commit dated ``day`` steps after START (author and committer)."""
    when = {**IDENTITY, "GIT_AUTHOR_DATE": f"{START + day * STEP} +0000"}
    when["GIT_COMMITTER_DATE"] = when["GIT_AUTHOR_DATE"]
    name = f"f-{subject.replace(' ', '-')}.txt"
    (repo.path / name).write_text(subject + "\n")
    repo.git("add", name)
    message = subject + ("\n\nSigned-off-by: Ada Author <ada@example.org>" if signoff else "")
    repo.git("commit", "-q", "-m", message, env=when)
    return repo.head()


def history_with_tags(repo: Repo, days: int = 400) -> None:
    """``days`` of mainline work on staging, a topic branch forked 15 days back merged
    every 20 days, a release tag every 50 days, a commit without sign-off now and then."""
    for day in range(1, days + 1):
        dated(repo, f"work {day}", day, signoff=day % 37 != 0)
        if day % 20 == 0:
            fork = repo.git("rev-list", "-n", "1", "--skip", "15", "HEAD")
            repo.git("checkout", "-q", "-b", f"topic-{day}", fork)
            dated(repo, f"topic {day} a", day)
            dated(repo, f"topic {day} b", day, signoff=False)
            repo.git("checkout", "-q", "staging")
            when = {**IDENTITY, "GIT_COMMITTER_DATE": f"{START + day * STEP} +0000"}
            repo.git("merge", "-q", "--no-ff", "--no-edit", f"topic-{day}", env=when)
        if day % 50 == 0:
            repo.git("tag", "-a", "-m", f"release {day}", f"v{day}")


def ids(repo: Path, part: Part) -> list[str]:
    return [
        sha for _, chunk in read_part(repo, part) for _, sha, _ in chunk.objects(range(chunk.count))
    ]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, CommitRange]:
    path = tmp_path_factory.mktemp("tagged")
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True)
    repo = Repo(path)
    repo.git("config", "commit.gpgsign", "false")
    dated(repo, "initial", 0)
    repo.git("checkout", "-q", "-b", "staging")
    history_with_tags(repo)
    return repo, resolve_range(path, "master", "staging")


def test_pick_tips_spreads_tags_inside_the_span_newest_first() -> None:
    rng = CommitRange("a", "b", "A" * 40, "B" * 40)
    tags = [(f"{n:040x}", START + n * DAY) for n in range(0, 401, 10)]
    tags += [("B" * 40, START + 200 * DAY), ("old" + "0" * 37, START - 9 * DAY)]
    tips = range_parts.pick_tips(rng, START, START + 400 * DAY, tags, 4)
    dates = dict(tags)
    assert len(tips) == 3 and "B" * 40 not in tips
    assert [dates[t] for t in tips] == sorted((dates[t] for t in tips), reverse=True)
    assert all(START < dates[t] < START + 400 * DAY for t in tips)
    # commits grow over time from the oldest tag: the cuts lean towards the newest end
    assert dates[tips[0]] - START > 300 * DAY and dates[tips[-1]] - START > 100 * DAY
    assert range_parts.pick_tips(rng, START, START + DAY, tags, 4) == []


def test_a_cut_range_reads_every_commit_exactly_once(tagged: tuple[Repo, CommitRange]) -> None:
    repo, rng = tagged
    parts = range_parts.cut(repo.path, rng, workers=2)
    assert len(parts) == 4  # five years and more: two parts per process
    assert [p.link for p in parts[:-1]] == [p.tip for p in parts[1:]] and parts[-1].link is None
    walked = Counter(sha for part in parts for sha in ids(repo.path, part))
    expected = repo.git("rev-list", "master..staging").split()
    assert set(walked) == set(expected) and set(walked.values()) == {1}
    assert ids(repo.path, whole(rng)) == expected  # one part: git's own order


def test_short_or_single_process_ranges_are_not_cut(tagged: tuple[Repo, CommitRange]) -> None:
    repo, rng = tagged
    assert range_parts.cut(repo.path, rng, workers=1) == [whole(rng)]
    recent = resolve_range(repo.path, "staging~10", "staging")  # 50 days
    assert range_parts.cut(repo.path, recent, workers=4) == [whole(recent)]


def test_a_tag_off_the_branch_is_a_broken_cut(tagged: tuple[Repo, CommitRange]) -> None:
    """A tag dated inside the span on a branch staging never merged: the part before it
    cannot show it as a parent, so the cut is refused, and the range is read whole."""
    repo, rng = tagged
    repo.git("checkout", "-q", "-b", "unmerged", "v200")
    stray = dated(repo, "never merged", 210)
    repo.git("checkout", "-q", "staging")
    parts = range_parts.chain(rng, [repo.git("rev-parse", "v300^{commit}"), stray])
    with pytest.raises(BrokenCut):
        for part in parts:
            ids(repo.path, part)
    ctx = CheckContext()
    checks = [EnabledCheck(CHECKS[c], CHECKS[c].Options()) for c in ("signoff", "utf8")]
    cut = check_range(repo.path, rng, checks, ctx, lambda tags: {}, parts=parts, workers=2)
    whole_read = check_range(repo.path, rng, checks, ctx, lambda tags: {}, parts=[whole(rng)])
    assert cut == whole_read and stray not in {f.commit for f in cut.findings}


def _same(one: RunResult, other: RunResult) -> None:
    key = lambda f: (f.commit, f.check, f.message)  # noqa: E731
    assert (one.commits, one.merges, one.subjects) == (other.commits, other.merges, other.subjects)
    assert sorted(map(key, one.findings)) == sorted(map(key, other.findings))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_workers_find_what_one_walk_finds(tagged: tuple[Repo, CommitRange], workers: int) -> None:
    repo, rng = tagged
    checks = [EnabledCheck(CHECKS[c], CHECKS[c].Options()) for c in ("signoff", "utf8")]
    ctx = CheckContext()
    parts = range_parts.cut(repo.path, rng, workers=max(workers, 2))
    serial = check_range(repo.path, rng, checks, ctx, lambda tags: {}, parts=[whole(rng)])
    cut = check_range(repo.path, rng, checks, ctx, lambda t: {}, parts=parts, workers=workers)
    _same(cut, serial)
    assert serial.commits == 1 + 400 + 20 * 3 - 1 and serial.merges == 20
    assert len(serial.findings) == 10 + 20  # no sign-off: every 37th day, every topic's "b"
    # the findings of a cut run come part by part, each part in git's order
    assert [f.commit for f in cut.findings] == [
        sha for part in parts for sha in ids(repo.path, part) if sha in serial.subjects
    ]


def test_a_shallow_clone_is_read_whole(tagged: tuple[Repo, CommitRange], tmp_path: Path) -> None:
    repo, _ = tagged
    clone = shallow_clone(repo.path, tmp_path / "shallow", 90)
    shallow = Repo(clone)
    for n in (5, 10, 20):  # tags on commits the shallow clone has
        shallow.git("tag", f"t{n}", f"HEAD~{n}")
    base = shallow.git("rev-list", "--max-parents=0", "HEAD").split()[0]
    rng = resolve_range(clone, base, "HEAD")
    assert shallow.git("rev-parse", "--is-shallow-repository") == "true"
    start, end = (int(d) for d in shallow.git("show", "-s", "--format=%ct", base, "HEAD").split())
    assert end - start > range_parts.MIN_SPAN  # long enough to be cut, were it not shallow
    assert range_parts.cut(clone, rng, workers=2) == [whole(rng)]


def test_commit_dates_ignore_log_show_signature(make_repo: Any) -> None:
    """``log.showSignature`` makes ``git show`` print gpg's lines for signed commits: the
    dates the cut goes by are read without them."""
    from send_mergereq import git

    repo = make_repo()
    signed = f"tree {repo.tree()}\nparent {repo.head()}\n".encode()
    signed += b"author A <a@x> 1500000000 +0000\ncommitter A <a@x> 1500000000 +0000\n"
    signed += b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAAB\n -----END PGP SIGNATURE-----\n"
    sha = repo.raw_commit(signed + b"\nSigned\n", branch="staging")
    repo.git("config", "log.showSignature", "true")
    assert "gpg" in repo.git("show", "-s", "--format=%ct", sha).lower()  # what it would read
    assert git.commit_dates(repo.path, [repo.git("rev-parse", "master"), sha]) == [
        1700000000,
        1500000000,
    ]


def test_annotated_tags_are_preferred_to_lightweight_ones(
    tagged: tuple[Repo, CommitRange], tmp_path: Path
) -> None:
    """Lightweight tags on a side branch never merged, one every few days, are passed over
    for the releases (annotated): the cut holds, no part is read twice."""
    repo, _ = tagged
    clone = Repo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone.path)], check=True)
    clone.git("checkout", "-q", "-B", "staging", "origin/staging")
    rng = resolve_range(clone.path, "origin/master", "staging")
    clone.git("checkout", "-q", "-b", "side", "origin/master")
    for day in range(3, 400, 4):
        clone.git("tag", f"side-{day}", dated(clone, f"side {day}", day))
    clone.git("checkout", "-q", "staging")
    parts = range_parts.cut(clone.path, rng, workers=2)
    sides = set(clone.git("rev-list", "origin/master..side").split())
    assert len(parts) == 4 and not sides & {p.tip for p in parts}
    walked = Counter(sha for part in parts for sha in ids(clone.path, part))  # no BrokenCut
    assert sorted(walked) == sorted(clone.git("rev-list", "origin/master..staging").split())


def test_a_worker_killed_from_outside_has_the_range_read_again(
    tagged: tuple[Repo, CommitRange], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies without a word (the OOM killer) loses the parts it took: the
    range is read again in one walk, never a half result and never a 'bug'."""
    import os

    from send_mergereq.scan import workers as parallel

    repo, rng = tagged
    parent, real = os.getpid(), parallel.scan_part

    def dies_in_the_worker(scan: Any, path: Path, part: Part, *more: Any) -> None:
        if os.getpid() != parent:
            os._exit(9)
        real(scan, path, part, *more)

    monkeypatch.setattr(parallel, "scan_part", dies_in_the_worker)
    checks = [EnabledCheck(CHECKS[c], CHECKS[c].Options()) for c in ("signoff", "utf8")]
    parts = range_parts.cut(repo.path, rng, workers=2)
    lost = check_range(repo.path, rng, checks, CheckContext(), lambda t: {}, parts=parts, workers=2)
    whole_read = check_range(
        repo.path, rng, checks, CheckContext(), lambda t: {}, parts=[whole(rng)]
    )
    assert lost == whole_read and lost.commits == 460


def test_a_worker_still_walking_is_stopped_when_this_process_fails(
    tagged: tuple[Repo, CommitRange], monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process fails (here a broken cut) while a worker is still in its part: the
    worker is stopped (SIGTERM, through its ``finally`` blocks) and reaped, never waited
    for to the end of its walk, never left behind."""
    import os
    import select

    from send_mergereq.checks.runner import Scan
    from send_mergereq.scan import workers as parallel

    repo, rng = tagged
    parent, (said, say), (never, _) = os.getpid(), os.pipe(), os.pipe()

    def held_or_broken(scan: Any, path: Path, part: Part, *more: Any) -> None:
        if os.getpid() != parent:  # the worker: in its part until stopped, 30 s at most
            os.write(say, b"walking\n")
            if not select.select([never], [], [], 30)[0]:
                os.write(say, b"never stopped\n")
            return
        os.read(said, 8)  # the worker is in its part: now this process fails
        raise BrokenCut(part)

    forked: list[tuple[int, int]] = []
    real_fork = parallel._fork

    def fork(*args: Any) -> None:
        real_fork(*args)
        forked.append(args[-1][-1])  # the worker it added to the children

    monkeypatch.setattr(parallel, "scan_part", held_or_broken)
    monkeypatch.setattr(parallel, "_fork", fork)
    checks = [EnabledCheck(CHECKS[c], CHECKS[c].Options()) for c in ("signoff", "utf8")]
    parts = range_parts.cut(repo.path, rng, workers=2)
    with pytest.raises(BrokenCut):
        parallel.scan_parts(Scan(checks, CheckContext(), ()), repo.path, parts, 2, lambda tags: {})
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):  # reaped already
        os.waitpid(forked[0][0], os.WNOHANG)
    os.set_blocking(said, False)
    with pytest.raises(BlockingIOError):  # nothing more said: stopped, not timed out
        os.read(said, 64)


@pytest.fixture(scope="module")
def tagless(
    tagged: tuple[Repo, CommitRange], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Repo, CommitRange]:
    """The same history in a clone of staging alone, without tags (``--no-tags``, as a CI
    job fetches one branch)."""
    repo, _ = tagged
    path = tmp_path_factory.mktemp("tagless") / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--no-tags", "--single-branch", "--branch", "staging",
         str(repo.path), str(path)], check=True,
    )  # fmt: skip
    clone = Repo(path)
    clone.git("fetch", "-q", "--no-tags", "origin", "master:master")
    assert clone.git("tag") == "" and clone.git("rev-parse", "--is-shallow-repository") == "false"
    return clone, resolve_range(path, "master", "staging")


def test_a_range_without_tags_is_cut_along_the_first_parent_chain(
    tagless: tuple[Repo, CommitRange],
) -> None:
    """No tag inside: the cut points are commits of staging's first-parent chain, one part
    per process (not two, as at tags over five years), every commit (the topic branches'
    too) in exactly one part; a range of this even history that does not start at its
    root is cut in parts of a like size."""
    repo, _ = tagless
    first = repo.git("rev-list", "--reverse", "master..staging").split()[0]
    rng = resolve_range(repo.path, first, "staging")
    assert len(list(range_parts.cut(repo.path, rng, workers=2))) == 2
    parts = list(range_parts.cut(repo.path, rng, workers=4))
    assert len(parts) == 4 and all(p.link is None for p in parts)
    chain = repo.git("rev-list", "--first-parent", f"{first}..staging").split()
    assert [p.tip for p in parts] == sorted((p.tip for p in parts), key=chain.index)
    walked = Counter(sha for part in parts for sha in ids(repo.path, part))
    expected = repo.git("rev-list", f"{first}..staging").split()
    assert sorted(walked) == sorted(expected) and set(walked.values()) == {1}
    sizes = [len(ids(repo.path, part)) for part in parts]
    assert max(sizes) < 2 * min(sizes)  # the parts weigh about the same


def test_a_range_from_a_root_is_cut_as_a_growing_history(
    tagless: tuple[Repo, CommitRange], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without tags, a range from a root commit is the project's whole history: its cut
    dates assume commits per day grow from the root, as from the oldest tag (u-boot: parts
    of 22,518 to 32,532 commits, not 2,052 to 43,730); a range from any other commit is
    cut in equal spans of time."""
    repo, whole_history = tagless  # master: the root commit
    assert repo.git("rev-list", "--max-parents=0", "staging") == whole_history.target_sha
    rng = resolve_range(repo.path, "staging~400", "staging")
    start, end = range_parts.git.commit_dates(repo.path, [whole_history.target_sha, rng.branch_sha])
    said: list[Sequence[float]] = []

    def along(path: Path, cut_rng: CommitRange, dates: Sequence[float]) -> Iterator[Part]:
        said.append(dates)
        return iter([whole(cut_rng)])

    monkeypatch.setattr(range_parts, "along_first_parents", along)
    monkeypatch.setattr(range_parts, "MIN_SPAN", 0)
    list(range_parts.cut(repo.path, whole_history, workers=4))
    list(range_parts.cut(repo.path, rng, workers=4))
    assert said[0] == range_parts.cut_dates(start, end, start, 4)
    begin = range_parts.git.commit_dates(repo.path, [rng.target_sha])[0]
    assert (
        said[1]
        == range_parts.even_dates(begin, end, 4)
        != range_parts.cut_dates(begin, end, begin, 4)
    )


def test_cut_dates_split_a_growing_history_evenly() -> None:
    """Commits per day growing in a straight line from ``origin``: each part between two
    dates holds as many commits (their count before a date goes as its square)."""
    dates = range_parts.cut_dates(100, 500, 100, 4)
    assert dates == sorted(dates, reverse=True) and len(dates) == 3
    before = [((d - 100) / 400) ** 2 for d in [500, *dates, 100]]
    assert all(abs((a - b) - 0.25) < 1e-9 for a, b in itertools.pairwise(before))
    assert range_parts.cut_dates(300, 500, 300, 2) == [300 + 200 * 0.5**0.5]


def test_the_chain_parts_come_while_the_chain_is_read(
    tagless: tuple[Repo, CommitRange], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each part is handed out as soon as the chain has passed its date, and the chain is
    read no further than the last cut (git stopped there), never past the target."""
    repo, rng = tagless
    read: list[str] = []
    real = range_parts.git.first_parent_dates

    def counted(path: Path, tip: str) -> Iterator[tuple[str, int]]:
        for sha, date in real(path, tip):
            read.append(sha)
            yield sha, date

    monkeypatch.setattr(range_parts.git, "first_parent_dates", counted)
    parts = range_parts.cut(repo.path, rng, workers=4)
    first = next(iter(parts))
    chain = repo.git("rev-list", "--first-parent", "master..staging").split()
    assert first.index == 0 and first.tip == rng.branch_sha and len(read) < len(chain)
    rest = list(parts)
    assert len(rest) == 3
    assert rest[-1].excludes == (rng.target_sha,)
    assert read[-1] == rest[-1].tip and len(read) < len(chain)  # not read to its end
    dates = range_parts.git.commit_dates(repo.path, [p.tip for p in [first, *rest]])
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_workers_on_a_tagless_cut_find_what_one_walk_finds(
    tagless: tuple[Repo, CommitRange], workers: int
) -> None:
    repo, rng = tagless
    checks = [EnabledCheck(CHECKS[c], CHECKS[c].Options()) for c in ("signoff", "utf8")]
    ctx = CheckContext()
    parts = list(range_parts.cut(repo.path, rng, workers=workers))
    assert len(parts) == workers  # along the chain, one part per process
    serial = check_range(repo.path, rng, checks, ctx, lambda tags: {}, parts=[whole(rng)])
    cut = check_range(repo.path, rng, checks, ctx, lambda t: {}, parts=parts, workers=workers)
    _same(cut, serial)
    assert serial.commits == 460 and len(serial.findings) == 30


def test_a_container_cpu_quota_caps_the_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI container that sees every core of its host but may use one (cgroup v2
    ``cpu.max``) reads a range with one process: more would share that one CPU."""
    import os

    from send_mergereq.scan import processes

    assert processes.cpu_quota("100000 100000\n") == 1.0
    assert processes.cpu_quota("150000 100000") == 1.5
    assert processes.cpu_quota("max 100000") is None
    assert processes.cpu_quota("") is None and processes.cpu_quota("5 0") is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    cpu_max = tmp_path / "cpu.max"
    monkeypatch.setattr(processes, "CPU_MAX", cpu_max)
    assert processes.workers() == 4  # no cgroup file: the cores, at most 4
    cpu_max.write_text("max 100000\n")
    assert processes.workers() == 4
    cpu_max.write_text("100000 100000\n")
    assert processes.workers() == 1
    cpu_max.write_text("150000 100000\n")
    assert processes.workers() == 2


def test_send_mergereq_workers_caps_the_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SEND_MERGEREQ_WORKERS`` caps the processes (1: one walk, as on a machine shared
    with other work); a value that is no count is a usage error naming the variable."""
    import os

    from send_mergereq.errors import ConfigError
    from send_mergereq.scan import processes

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(processes, "CPU_MAX", tmp_path / "cpu.max")  # no quota
    for value, workers in (("", 4), ("1", 1), ("3", 3), ("64", 4), ("02", 2)):
        monkeypatch.setenv("SEND_MERGEREQ_WORKERS", value)
        assert processes.workers() == workers, value
    # ASCII digits only: no other script's digits, no spaces, no sign
    for value in ("0", "65", "two", "-1", "+2", "1.5", " 2", "2 ", " ", "\u0663", "\uff16"):
        monkeypatch.setenv("SEND_MERGEREQ_WORKERS", value)
        with pytest.raises(ConfigError, match=r"SEND_MERGEREQ_WORKERS=.*from 1 to 64"):
            processes.workers()


def test_one_worker_reads_a_long_range_in_one_walk(
    tagless: tuple[Repo, CommitRange], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The range is then not cut at all: one ``git rev-list`` walk, the same result."""
    from send_mergereq import cli, git

    repo, rng = tagless
    walks: list[tuple[str, ...]] = []
    real = git.walk_chunks

    def counted(path: Path, tip: str, excludes: Sequence[str], *rest: Any) -> Any:
        walks.append((tip, *excludes))
        return real(path, tip, excludes, *rest)

    monkeypatch.setattr(git, "walk_chunks", counted)
    args = ["-C", str(repo.path), rng.branch, "--target", rng.target, "--dry-run"]
    monkeypatch.setenv("SEND_MERGEREQ_WORKERS", "1")
    assert cli.run([*args, "--json"]) in (0, 3)
    assert walks == [(rng.branch_sha, rng.target_sha)]


def test_a_chain_that_fails_midway_ends_the_run_with_gits_error(
    tagless: tuple[Repo, CommitRange], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers already walking the parts handed out are stopped; nothing hangs, and
    git's complaint is the one line the run ends with."""
    from send_mergereq.errors import GitError

    repo, rng = tagless
    real = range_parts.git.first_parent_dates

    def fails(path: Path, tip: str) -> Iterator[tuple[str, int]]:
        for n, item in enumerate(real(path, tip)):
            if n == 200:
                raise GitError("git rev-list failed: fatal: bad object")
            yield item

    monkeypatch.setattr(range_parts.git, "first_parent_dates", fails)
    checks = [EnabledCheck(CHECKS[c], CHECKS[c].Options()) for c in ("signoff", "utf8")]
    parts = range_parts.cut(repo.path, rng, workers=4)  # four parts: the chain read far
    with pytest.raises(GitError, match="bad object"):
        check_range(repo.path, rng, checks, CheckContext(), lambda t: {}, parts=parts, workers=2)


def test_streamed_parts_go_one_per_process_at_once_the_rest_oldest_first() -> None:
    """Along the chain, the newest parts come first: one for each process at once, so the
    walks start while the chain is read; the rest once it is read, oldest first (the
    oldest history holds the most findings: it must not be what is left at the end)."""
    import queue

    from send_mergereq.errors import GitError
    from send_mergereq.scan import workers as parallel

    said: queue.SimpleQueue[Part | None] = queue.SimpleQueue()
    parts = [Part(n, f"{n:040x}", ("a" * 40,)) for n in range(6)]
    parallel._Streamed(iter(parts), said, 2).finish()  # type: ignore[arg-type]
    order = [said.get() for _ in range(8)]
    assert [p.index if p else None for p in order] == [0, 1, 5, 4, 3, 2, None, None]

    def failing() -> Iterator[Part]:
        yield parts[0]
        raise GitError("git rev-list: bad object")

    streamed = parallel._Streamed(failing(), said, 2)  # type: ignore[arg-type]
    with pytest.raises(GitError, match="bad object"):
        streamed.finish()
    assert [said.get() for _ in range(3)] == [parts[0], None, None]  # every process ends
