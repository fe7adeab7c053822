from __future__ import annotations

from collections.abc import Callable

import pytest

from send_mergereq.checks import list_address
from send_mergereq.checks.finding import CheckContext, Finding, Severity
from send_mergereq.history import RawCommit

Plant = Callable[..., RawCommit]
QEMU = CheckContext(
    list_addresses=("qemu-devel@nongnu.org", "qemu-*@nongnu.org"),
    list_name_suffixes=("via Qemu-devel",),
)
JANE_SOB = b"Fix\n\nSigned-off-by: Jane Doe <jane@example.org>\n"


def findings(commit: RawCommit, ctx: CheckContext = QEMU) -> list[Finding]:
    return list(list_address.check(commit, ctx, list_address.Options()))


def test_a_person_passes(plant: Plant) -> None:
    assert findings(plant()) == []


def test_list_address_as_author_suggests_the_signoff(plant: Plant) -> None:
    commit = plant(JANE_SOB, author=b"Jane Doe <qemu-devel@nongnu.org>")
    (found,) = findings(commit)
    assert found.check == "list-address" and found.severity is Severity.ERROR
    assert "qemu-devel@nongnu.org is a mailing list address" in found.message
    assert "probably Jane Doe <jane@example.org>" in found.message
    assert "--author='Jane Doe <jane@example.org>'" in found.hint


def test_address_match_ignores_case_and_allows_globs(plant: Plant) -> None:
    commit = plant(JANE_SOB, author=b"Jane Doe <QEMU-ARM@nongnu.org>")
    assert len(findings(commit)) == 1


def test_munged_name_via_configured_suffix(plant: Plant) -> None:
    commit = plant(JANE_SOB, author=b"Jane Doe via Qemu-devel <jane@example.org>")
    (found,) = findings(commit)
    assert "'Jane Doe via Qemu-devel' was munged by the mailing list" in found.message
    assert "probably Jane Doe <jane@example.org>" in found.message


def test_dmarc_munging_is_caught_without_configuration(plant: Plant) -> None:
    commit = plant(JANE_SOB, author=b"'Jane Doe' via kasan-dev <kasan-dev@googlegroups.com>")
    (found,) = findings(commit, CheckContext())
    assert "munged" in found.message and "Jane Doe <jane@example.org>" in found.message


def test_via_in_a_real_name_with_own_address_passes(plant: Plant) -> None:
    commit = plant(author=b"Jean via Lactea <jean@example.org>")
    assert findings(commit, CheckContext()) == []


def test_signoff_matching_the_name_wins_over_the_first(plant: Plant) -> None:
    message = b"Fix\n\nSigned-off-by: Bob <bob@example.org>\nSigned-off-by: Jane Doe <j@x.org>\n"
    commit = plant(message, author=b"Jane Doe via Qemu-devel <qemu-devel@nongnu.org>")
    (found,) = findings(commit)
    assert "probably Jane Doe <j@x.org>" in found.message


def test_no_signoff_gives_a_generic_fix(plant: Plant) -> None:
    commit = plant(b"Fix\n", author=b"Jane Doe <qemu-devel@nongnu.org>")
    (found,) = findings(commit)
    assert "probably" not in found.message
    assert "Real Name <real@address>" in found.hint


@pytest.mark.parametrize("email", ["qemu-devel@nongnu.org.example", "me@qemu-devel.org"])
def test_lookalike_addresses_pass(plant: Plant, email: str) -> None:
    commit = plant(author=b"Ada Author <" + email.encode() + b">")
    assert findings(commit) == []


@pytest.mark.parametrize(
    "author",
    [
        "Jane Doe\u00a0via\u00a0Qemu-devel <qemu-devel@nongnu.org>",  # no-break spaces
        "Jane Doe\u2003via\tkasan-dev <kasan-dev@googlegroups.com>",
        "Jane Doe via Qemu-devel <jane@example.org>",
        "Jane Doe <QEMU-ARM@nongnu.org>",
        "Jean via Lactea <jean@example.org>",
        "Jane Doe <jane@example.org>",
        "Jane Doe \u00dcBER via Qemu-devel <jane@example.org>",
    ],
)
def test_the_first_look_says_exactly_what_check_finds(plant: Plant, author: str) -> None:
    """``clean`` (and the fused fast path, through ``suspect_ident``) vouches for an author
    exactly when ``check`` finds nothing: a munged name with other spaces than ASCII ones
    around ``via`` once went through the fast path unreported."""
    from send_mergereq.checks import fused

    commit = plant(JANE_SOB, author=author.encode())
    head, message = commit.raw.split(b"\n\n", 1)
    for ctx in (QEMU, CheckContext()):
        found = findings(commit, ctx)
        assert list_address.clean(head, message, ctx, list_address.Options()) == (not found)
        assert not (found and fused.fused_clean(commit.raw, ctx)), author
