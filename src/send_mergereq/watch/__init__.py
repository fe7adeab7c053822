"""Following a pipeline to a gate verdict: ``loop`` (the polling loop), ``types`` (what
it reads, shows and returns), ``view`` (the live view's pure layout), ``live`` (the live
view on a terminal), ``display`` (plain lines, the held verdict) and ``verdict`` (the
words that end a watch)."""
