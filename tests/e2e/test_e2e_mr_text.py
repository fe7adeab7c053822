"""What a person wrote on the merge request survives the next plain run: the title set
in the web UI, the text around the generated list; only the list is refreshed."""

from __future__ import annotations

import pytest
from e2e_helpers import MakeMaintainer

pytestmark = pytest.mark.e2e

BEGIN, END = "<!-- send-mergereq:begin -->", "<!-- send-mergereq:end -->"


def test_a_title_set_by_hand_survives_the_next_run(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    rc, out, err = who.run("staging")
    assert rc == 0, err
    assert "opened merge request !1" in out
    mr = who.api_project().mergerequests.get(1)
    assert mr.title.startswith("Merge staging: ")
    assert mr.description.startswith(BEGIN) and mr.description.rstrip().endswith(END)
    # the maintainer edits the MR in the web UI
    mr.title = "QEMU pull request for 9.2"
    mr.description = f"Please merge before the freeze.\n\n{mr.description}\n\nThanks!"
    mr.save()
    new = who.commit("hw/misc: one more fix")

    rc, out, err = who.run("staging")

    assert rc == 0, err
    assert "refreshed the open merge request !1" in out
    mr = who.api_project().mergerequests.get(1)
    assert mr.title == "QEMU pull request for 9.2"
    assert mr.description.startswith(f"Please merge before the freeze.\n\n{BEGIN}\n")
    assert mr.description.endswith(f"{END}\n\nThanks!")
    assert new[:12] in mr.description  # the generated list is refreshed

    rc, _, err = who.run("staging", "--title", "QEMU pull request for 9.2, v2")
    assert rc == 0, err
    assert who.api_project().mergerequests.get(1).title == "QEMU pull request for 9.2, v2"
