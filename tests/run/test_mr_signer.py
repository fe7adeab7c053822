"""The merge request's description says who signed each pull request by key, with real
gpg and SSH signatures (issue 20: it named the tag's tagger as "signed by")."""

from __future__ import annotations

from typing import Any

from gitrepo import run_git
from keys import GpgKey, Keys, SshKey, pull_request
from send_mergereq.history import CommitRange
from send_mergereq.run.publish import generated_text

CAROL = {"GIT_COMMITTER_NAME": "Carol Tagger", "GIT_COMMITTER_EMAIL": "carol@example.org"}


def _merged_tag_made_by_carol(repo: Any, name: str, key: GpgKey | SshKey) -> CommitRange:
    """A pull request whose tag Carol made (its ``tagger``) and signed with ``key``."""
    pull_request(repo.path, name)
    signer = {"GNUPGHOME": str(key.home), **CAROL}
    run_git(repo.path, *key.git_config(), "tag", "-s", "-m", f"Pull {name}", name, f"pr/{name}",
            env=signer)  # fmt: skip
    repo.git("merge", "-q", "--no-ff", "--no-edit", name)
    master, head = repo.git("rev-parse", "master"), repo.git("rev-parse", "HEAD")
    return CommitRange("master", "staging", master, head)


def test_alices_key_on_a_tag_carol_made_is_signed_by_alice_tagged_by_carol(
    make_repo: Any, maintainer: Keys
) -> None:
    repo = make_repo()
    rng = _merged_tag_made_by_carol(repo, "pull-net", maintainer.good)

    _, text = generated_text(repo.path, rng, "staging", "master")

    assert (
        "- **pull-net** signed by Sue Submaintainer &lt;sue@example.org&gt; "
        f"(key {maintainer.good.fingerprint}), tagged by Carol Tagger &lt;carol@example.org&gt;"
    ) in text


def test_an_ssh_signature_names_its_principal_and_key(make_repo: Any, maintainer: Keys) -> None:
    repo = make_repo()
    rng = _merged_tag_made_by_carol(repo, "pull-ssh", maintainer.ssh)

    _, text = generated_text(repo.path, rng, "staging", "master")

    assert (
        f"- **pull-ssh** signed by sue@example.org (key {maintainer.ssh.fingerprint}), "
        "tagged by Carol Tagger &lt;carol@example.org&gt;"
    ) in text


def test_a_key_the_maintainer_lacks_is_not_a_signer(make_repo: Any, maintainer: Keys) -> None:
    repo = make_repo()
    rng = _merged_tag_made_by_carol(repo, "pull-odd", maintainer.stranger)

    _, text = generated_text(repo.path, rng, "staging", "master")

    assert "Sam Stranger" not in text
    assert (
        f"- **pull-odd** signed with key {maintainer.stranger.fingerprint} "
        "(not verified: unknown key), tagged by Carol Tagger &lt;carol@example.org&gt;"
    ) in text
