"""The merge request's words: ``describe`` (title and description generated from the
merged pull requests) and ``text`` (the generated part between markers, kept apart from
what people wrote, and the ``--edit`` buffer)."""
