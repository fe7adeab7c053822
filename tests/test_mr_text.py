"""The merge request's text: the generated part between markers, the rest kept; the
``--edit`` buffer read like ``git commit``'s."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from send_mergereq.mr.text import BEGIN, END, edit_buffer, parse_edited, splice, wrap


def test_only_the_part_between_the_markers_is_refreshed() -> None:
    current = f"Please review by Friday.\n\n{BEGIN}\n- old list\n{END}\n\nThanks, M."
    assert splice(current, "- new list") == (
        f"Please review by Friday.\n\n{BEGIN}\n- new list\n{END}\n\nThanks, M."
    )


def test_a_description_without_markers_keeps_its_text_and_gets_the_list_after_it() -> None:
    assert splice("written by hand", "- list") == f"written by hand\n\n{BEGIN}\n- list\n{END}"
    assert splice("  \n", "- list") == wrap("- list") == f"{BEGIN}\n- list\n{END}"


def test_an_end_marker_before_the_begin_marker_is_not_a_pair() -> None:
    current = f"{END} stray\n{BEGIN}\n- old"
    assert splice(current, "- new") == f"{current}\n\n{wrap('- new')}"


_text = st.text(alphabet=st.characters(blacklist_characters="<"), max_size=40)


@given(before=_text, after=_text, old=_text, new=_text)
def test_text_outside_the_markers_survives_any_refresh(
    before: str, after: str, old: str, new: str
) -> None:
    current = before + wrap(old) + after
    refreshed = splice(current, new)
    assert refreshed == before + wrap(new) + after
    assert splice(refreshed, old) == current


def test_the_edit_buffer_explains_itself_and_its_comments_are_ignored() -> None:
    buffer = edit_buffer(
        "Merge staging: 2 commits", wrap("- list"), branch="staging", target="master"
    )
    assert buffer.startswith("Merge staging: 2 commits\n\n" + BEGIN)
    help_lines = [line for line in buffer.splitlines() if line.startswith("#")]
    assert any("first line is the title" in line for line in help_lines)
    assert any("'#' are ignored" in line for line in help_lines)
    assert parse_edited(buffer) == ("Merge staging: 2 commits", wrap("- list"))


def test_edited_title_and_description() -> None:
    assert parse_edited("# note\n\nMy title  \n\nBody\n# dropped\nmore\n") == (
        "My title",
        "Body\nmore",
    )
    assert parse_edited("# only comments\n\n") == ("", "")
