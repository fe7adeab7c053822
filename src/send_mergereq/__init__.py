"""send-mergereq: check a staging branch, push it, and gate it through GitLab."""

__version__ = "0.1.0.dev0"
