"""Reading and scanning a range: resolve it and walk its commits (``walk.py``), cut a
long one in parts (``cut.py``), read the parts with several processes (``workers.py``),
and check it all (``range_check.py``). The rules themselves, pure, are in ``checks/``.
"""
