"""``send-mergereq demo``: ``flow`` runs the whole flow against the sandbox, ``repo`` builds
the throwaway repository with its signed pull requests (the sandbox itself stays
standalone: it imports nothing of this package)."""
