from __future__ import annotations

from collections.abc import Callable

import pytest

from send_mergereq.checks import signoff
from send_mergereq.checks.finding import CheckContext, Severity
from send_mergereq.checks.trailers import signoffs, trailers
from send_mergereq.history import RawCommit, parse_commit

Plant = Callable[..., RawCommit]

OPTS = signoff.Options()


def findings(commit: object, opts: signoff.Options = OPTS) -> list[tuple[str, str]]:
    found = signoff.check(commit, CheckContext(), opts)  # type: ignore[arg-type]
    return [(str(f.severity), f.message) for f in found]


def test_signed_off_by_the_author_passes(plant: Plant) -> None:
    assert findings(plant()) == []


def test_email_matches_case_insensitively(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by: ADA <Ada@Example.ORG>\n")
    assert findings(commit) == []


def test_missing_signoff_is_an_error_naming_the_author(plant: Plant) -> None:
    (found,) = findings(plant(b"Subject\n\nJust a body.\n"))
    assert found[0] == "error"
    assert "no Signed-off-by from the author Ada Author <ada@example.org>" in found[1]


def test_signoff_by_someone_else_only_is_an_error_naming_them(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by: Max Maintainer <max@example.org>\n")
    (found,) = findings(commit)
    assert found[0] == "error"
    assert "signed off only by Max Maintainer <max@example.org>" in found[1]


def test_name_match_with_other_email_is_a_warning(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by: Ada Author <ada@home.example>\n")
    (found,) = findings(commit)
    assert found[0] == "warning"
    assert "ada@home.example" in found[1] and "ada@example.org" in found[1]


def test_name_only_can_be_switched_off(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by: Ada Author <ada@home.example>\n")
    assert findings(commit, signoff.Options(name_only=Severity.OFF)) == []


def test_signoff_outside_the_trailer_block_is_its_own_finding(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by: Ada Author <ada@example.org>\n\nA late note.\n")
    (found,) = findings(commit)
    assert found[0] == "warning"  # the DCO anchors accept it on any line
    assert "not in the trailer block" in found[1]
    strict = signoff.Options(outside_trailers=Severity.ERROR)
    assert [f[0] for f in findings(commit, strict)] == ["error"]


def test_uboot_style_signoff_above_a_late_note_is_a_warning(plant: Plant) -> None:
    commit = plant(
        b"Subject\n\nSigned-off-by: Ada Author <ada@example.org>\n"
        b"Reviewed-by: V K <v@example.org>\n"
        b"\nFix commit message.\nSigned-off-by: Max Maintainer <max@example.org>\n"
    )
    assert [f[0] for f in findings(commit)] == ["warning"]


def test_signoff_without_email_is_an_error(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by: Ada Author\n")
    (found,) = findings(commit)
    assert found[0] == "error"
    assert "no email address" in found[1] and "no DCO sign-off" in found[1]


def test_signoff_with_an_obfuscated_email_is_an_error(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by: Ada Author <ada at example.org>\n")
    assert [f[0] for f in findings(commit)] == ["error"]


def test_signoff_without_email_beside_someone_elses_is_an_error(plant: Plant) -> None:
    commit = plant(
        b"Subject\n\nSigned-off-by: Ada Author\nSigned-off-by: Max M <max@example.org>\n"
    )
    assert [f[0] for f in findings(commit)] == ["error"]


def test_name_match_outside_the_trailers_is_a_name_only_warning(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by: Ada Author <ada@home.example>\n\nA note.\n")
    (found,) = findings(commit)
    assert found[0] == "warning" and "ada@home.example" in found[1]


def test_signoff_in_the_subject_paragraph_is_not_a_trailer(plant: Plant) -> None:
    commit = plant(b"Subject\nSigned-off-by: Ada Author <ada@example.org>\n")
    assert ["not in the trailer block" in f[1] for f in findings(commit)] == [True]


def test_name_match_ignores_accents_and_case(plant: Plant) -> None:
    commit = plant(
        b"Subject\n\nSigned-off-by: jose  MULLER <jm@home.example>\n",
        author="José Müller <jose@work.example>".encode(),
    )
    assert [f[0] for f in findings(commit)] == ["warning"]


def test_bare_email_signoff_matches(plant: Plant) -> None:
    assert findings(plant(b"Subject\n\nSigned-off-by: ada@example.org\n")) == []


def test_merges_are_exempt(plant: Plant) -> None:
    assert findings(plant(b"Merge tag 'pull-x'\n", parents=2)) == []


def test_severity_option_is_used(plant: Plant) -> None:
    found = signoff.check(plant(b"Subject\n"), CheckContext(), signoff.Options(Severity.WARNING))
    assert [f.severity for f in found] == [Severity.WARNING]


QEMU_MESSAGES = [
    # Trailers interleaved with the maintainer's notes and Message-Id, as QEMU's look.
    b"hw/arm: fix it\n\nBody.\n\nSigned-off-by: Ada Author <ada@example.org>\n"
    b"Reviewed-by: Rev Iewer <rev@example.org>\n"
    b"Message-id: 20231120.1234-1-ada@example.org\n"
    b"[PMM: tweaked commit message]\n"
    b"Signed-off-by: Peter Maydell <peter.maydell@linaro.org>\n",
    # A stable backport: cherry-pick line and a bracketed note inside the block.
    b"target/i386: fix\n\nBody.\n\nCo-developed-by: Bob <bob@example.org>\n"
    b"Signed-off-by: Bob <bob@example.org>\n"
    b"Signed-off-by: Ada Author <ada@example.org>\n"
    b"(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n"
    b"[ mjt: context fixup in hw/foo.c ]\n"
    b"Signed-off-by: Michael Tokarev <mjt@tls.msk.ru>\n",
    # Continuation line in a trailer, Cc with a comment, Fixes/Link/Resolves.
    b'block: fix\n\nFixes: 0123456789ab ("block: break\n things")\n'
    b"Resolves: https://gitlab.com/qemu-project/qemu/-/issues/1\n"
    b"Cc: qemu-stable@nongnu.org # 8.1\n"
    b"Signed-off-by: Ada Author <ada@example.org>\n"
    b"Link: https://lore.kernel.org/r/x@y\n",
    # Windows line endings and trailing blank lines.
    b"Subject\r\n\r\nBody\r\n\r\nSigned-off-by: Ada Author <ada@example.org>\r\n\r\n\r\n",
    # Token with whitespace before the colon, as git accepts.
    b"Subject\n\nSigned-off-by : Ada Author <ada@example.org>\n",
]


@pytest.mark.parametrize("message", QEMU_MESSAGES)
def test_odd_but_real_messages_pass(plant: Plant, message: bytes) -> None:
    assert findings(plant(message)) == []


def test_block_of_mostly_prose_with_one_signoff_is_still_trailers() -> None:
    # git: a git-generated prefix plus >= 25% trailer lines makes a trailer block.
    message = b"S\n\nSigned-off-by: A <a@x>\nnote one\nnote two\nnote three\n"
    assert signoffs(message) == [b"A <a@x>"]


def test_block_with_too_much_prose_is_not_trailers() -> None:
    message = b"S\n\nSigned-off-by: A <a@x>\nnote one\nnote two\nnote three\nnote four\n"
    assert signoffs(message) == []


def test_block_of_only_unknown_trailers_counts() -> None:
    assert trailers(b"S\n\nFoo: bar\nBaz-Qux: 1\n") == [(b"Foo", b"bar"), (b"Baz-Qux", b"1")]


def test_unknown_trailers_with_prose_do_not_count() -> None:
    assert trailers(b"S\n\nFoo: bar\nsome prose here\n") == []


def test_continuation_lines_join_the_previous_trailer() -> None:
    assert trailers(b'S\n\nFixes: abc ("x\n  y")\n') == [(b"Fixes", b'abc ("x y")')]


def test_comment_lines_are_skipped() -> None:
    assert signoffs(b"S\n\nSigned-off-by: A <a@x>\n# Conflicts:\n#\tfile.c\n") == [b"A <a@x>"]


def test_a_longer_token_is_not_a_signoff(plant: Plant) -> None:
    commit = plant(b"Subject\n\nSigned-off-by-bot: Ada Author <ada@example.org>\n")
    assert [f[0] for f in findings(commit)] == ["error"]


def test_list_author_signed_off_by_the_person_is_left_to_list_address(plant: Plant) -> None:
    ctx = CheckContext(list_addresses=("qemu-devel@nongnu.org",))
    sob = b"Fix\n\nSigned-off-by: Jane Doe <jane@example.org>\n"
    for author in (
        b"Jane Doe via Qemu-devel <qemu-devel@nongnu.org>",
        b"Jane Doe <qemu-devel@nongnu.org>",
    ):
        commit = plant(sob, author=author)
        assert list(signoff.check(commit, ctx, OPTS)) == []
    unsigned = plant(b"Fix\n", author=b"Jane Doe <qemu-devel@nongnu.org>")
    assert [f.severity for f in signoff.check(unsigned, ctx, OPTS)] == [Severity.ERROR]


@pytest.mark.parametrize(
    "author",
    [b"qemu-devel@nongnu.org <qemu-devel@nongnu.org>", b"Qemu-devel <qemu-devel@nongnu.org>"],
)
def test_list_author_hiding_the_person_entirely_is_left_to_list_address(
    plant: Plant, author: bytes
) -> None:
    """The list's own name says nobody: a sign-off by a person (whom list-address suggests
    as the real author) is not also reported as missing; none at all still is."""
    ctx = CheckContext(list_addresses=("qemu-devel@nongnu.org",))
    signed = plant(b"Fix\n\nSigned-off-by: Jane Doe <jane@example.org>\n", author=author)
    assert list(signoff.check(signed, ctx, OPTS)) == []
    by_list = plant(
        b"Fix\n\nSigned-off-by: Jane via Qemu-arm <qemu-arm@nongnu.org>\n", author=author
    )
    ctx = CheckContext(list_addresses=("qemu-devel@nongnu.org", "qemu-arm@nongnu.org"))
    assert [f.severity for f in signoff.check(by_list, ctx, OPTS)] == [Severity.ERROR]
    assert [f.severity for f in signoff.check(plant(b"Fix\n", author=author), ctx, OPTS)] == [
        Severity.ERROR
    ]


@pytest.mark.parametrize(
    ("author_line", "said"),
    [
        (b"", "the commit has no author line"),
        (b"author Ada Author ada@example.org 1700000000 +0000\n", "has no <email>"),
    ],
)
def test_a_commit_without_a_usable_author_says_so(author_line: bytes, said: str) -> None:
    """A malformed commit (git fsck: missingAuthor, missingEmail) is reported as what it is,
    not as a sign-off missing from an author "<>"."""
    raw = b"tree " + b"4b825dc642cb6eb9a060e54bf8d69288fbe4904b\n" + author_line
    raw += b"committer Max <max@example.org> 1700000000 +0000\n\nSubject\n\n"
    commit = parse_commit("c" * 40, raw + b"Signed-off-by: Ada Author <ada@example.org>\n")
    (found,) = signoff.check(commit, CheckContext(), OPTS)
    assert found.severity is Severity.ERROR and said in found.message
    assert "<>" not in found.message and "recreate the commit" in found.hint


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (b"Subject\n\nBody.\n\nSIGNED-OFF-BY: Ada Author <ada@example.org>\n", None),
        (b"Subject\n\nsigned-off-by: Ada Author <ada@example.org>\n\nMore.\n", "outside-trailers"),
        (b"Subject\n\nBody.\n\nSigned-Off-By: Ada Author <ada@elsewhere.example>\n", "name-only"),
        (b"Subject\n\nBody with signed-off-by in a sentence.\n", "missing"),
        (b"Subject\n\nBody.\n", "missing"),
    ],
)
def test_any_case_of_the_word_is_read_the_shortcut_only_without_it(
    plant: Plant, message: bytes, kind: str | None
) -> None:
    """A message without "signed-off-by" in any case skips the trailer reading: those with
    it, in any case, are read as before."""
    found = list(signoff.check(plant(message), CheckContext(), OPTS))
    assert [f.kind for f in found] == ([kind] if kind else [])
