"""``send-mergereq apply``: pull-request emails in, verified and checked merges into staging.

``emails`` reads messages and finds the ``git request-pull`` block (pure); ``pulls``
holds the pull request value; ``merge`` writes the merge commit as ``git merge --no-ff
TAG`` would, without a work tree; ``sign`` signs it when the maintainer's config signs
commits; ``flow`` runs the steps for each pull request and builds the summary.
"""
