"""One run, phase by phase: ``check``, then (after the checks passed) ``publish`` (push
and merge request), ``discovery`` (which pipeline tests the push), ``watch``, ``land``;
each phase handles both modes (merge request and push-only). ``send`` calls them in
order and ``document`` assembles the one ``--json`` document from their results."""
