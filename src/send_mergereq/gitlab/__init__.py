"""The one door to GitLab: the only package that imports python-gitlab or hands the token to git.

- ``session``: one run's GitLab (location, the token found once, one connection);
- ``forge``: every REST call, as methods of ``Forge``;
- ``client``: python-gitlab's client and the one funnel for its errors;
- ``entities``: GitLab's answers as plain ``models`` data;
- ``credentials``: where the token is found; ``location``: the remote's URL parsed;
- ``ratelimit``: GitLab's rate-limit headers made safe; ``refusals``: merge refusals in words.

Importing this package imports nothing heavy: python-gitlab loads with ``forge``.
"""
