"""What a closed gate needs to say (issue 22): the pull requests in the tested staging
(``pulls``), which of them a failing job's log points at (``suspects``), and who looks
after a job or a path (``owners``). Not wired into a command yet."""
