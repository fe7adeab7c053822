"""The one door to git: every git command send-mergereq runs goes through this package.

Two ways in, each where it serves:

- **plain ``git`` processes** for everything a ``--dry-run`` does (find the
  repository, read config, resolve refs, read the policy blob, stream the raw
  commits) and for commands that need bytes on stdin, a secret or a scratch
  object store in the environment, or a timeout (``credential fill``, ``push``,
  ``verify-tag``). The raw stream is one ``git rev-list --header`` walk
  per part of the range, each object rebuilt and verified by its id
  (``walk_commits``), with ``git cat-file --batch`` for the few git's rendering
  alters. A dry run never
  imports GitPython: its import alone costs about 70 ms of the 0.4 s budget.
- **GitPython** (imported on first use) for the repository as the send half
  sees it: the push remote's URL and ancestry when landing.

Nothing here knows about GitLab or tokens: callers hand in the environment.

Callers write ``from send_mergereq import git`` and ``git.fn(...)``: every public name of
the modules below is re-exported here. Only ``process.py`` starts processes; the others
call ``process.run`` (or ``query``, ``output``, ``Stream``, ``Batch``):

- ``process.py``: running git (and the signing program and pager git would start);
- ``repository.py``: the repository, its config and object store, ancestry (GitPython);
- ``refs.py``: resolving and moving refs;
- ``objects.py``: reading and writing objects, tree merges, notes, ``verify-tag``'s words;
- ``walk.py``: reading a range (the one ``rev-list --header`` walk, subjects, dates);
- ``ahead.py``: a range's walks started ahead, while the run still starts up;
- ``transfer.py``: fetching;
- ``worktree.py``: work trees;
- ``triage.py``: the pull requests of a tested staging.

A new git command is a function in the module of its topic (a new topic, a new module),
added to the imports and ``__all__`` below (``tests/test_layout.py`` checks that every
public name is re-exported).
"""

from __future__ import annotations

from send_mergereq.git.ahead import (
    start_walk,
    stop_walks_ahead,
    taken,
    walk_ahead,
    walks_ahead_ended,
    walks_ahead_found,
)
from send_mergereq.git.objects import (
    TreeMerge,
    add_note,
    blob_size,
    ident,
    merge_tree,
    object_type,
    read_blob,
    read_note,
    read_object,
    verify_tag_text,
    write_commit,
)
from send_mergereq.git.process import (
    NEVER_PROMPT,
    Batch,
    Completed,
    Stream,
    credential_fill,
    environment,
    output,
    query,
    run,
    run_pager,
    run_signer,
    run_verifier,
)
from send_mergereq.git.refs import (
    ZERO_ID,
    adds_nothing,
    commits_and_dates,
    existing_refs,
    has_commit,
    resolve_commit,
    update_ref,
)
from send_mergereq.git.repository import (
    GPG_KEYS,
    common_dir,
    config_entries,
    config_value,
    gpg_program,
    gpg_program_in,
    is_ancestor,
    is_shallow,
    object_store,
    push_url,
    repo_root,
)
from send_mergereq.git.transfer import fetch_branch, fetch_tag, refused_redirect, remote_heads
from send_mergereq.git.triage import changed_paths, count_commits, first_parent_chain
from send_mergereq.git.walk import (
    Chunk,
    commit_dates,
    commit_objects,
    first_parent_dates,
    range_subjects,
    subjects,
    tagged_commits,
    walk_chunks,
    walk_commits,
)
from send_mergereq.git.worktree import checkout_move, is_dirty, worktrees_on

__all__ = [
    "GPG_KEYS",
    "NEVER_PROMPT",
    "ZERO_ID",
    "Batch",
    "Chunk",
    "Completed",
    "Stream",
    "TreeMerge",
    "add_note",
    "adds_nothing",
    "blob_size",
    "changed_paths",
    "checkout_move",
    "commit_dates",
    "commit_objects",
    "commits_and_dates",
    "common_dir",
    "config_entries",
    "config_value",
    "count_commits",
    "credential_fill",
    "environment",
    "existing_refs",
    "fetch_branch",
    "fetch_tag",
    "first_parent_chain",
    "first_parent_dates",
    "gpg_program",
    "gpg_program_in",
    "has_commit",
    "ident",
    "is_ancestor",
    "is_dirty",
    "is_shallow",
    "merge_tree",
    "object_store",
    "object_type",
    "output",
    "push_url",
    "query",
    "range_subjects",
    "read_blob",
    "read_note",
    "read_object",
    "refused_redirect",
    "remote_heads",
    "repo_root",
    "resolve_commit",
    "run",
    "run_pager",
    "run_signer",
    "run_verifier",
    "start_walk",
    "stop_walks_ahead",
    "subjects",
    "tagged_commits",
    "taken",
    "update_ref",
    "verify_tag_text",
    "walk_ahead",
    "walk_chunks",
    "walk_commits",
    "walks_ahead_ended",
    "walks_ahead_found",
    "worktrees_on",
    "write_commit",
]
