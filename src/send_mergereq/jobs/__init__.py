"""``send-mergereq jobs``: job health and tier advice from the target's pipelines (issue 23)."""
