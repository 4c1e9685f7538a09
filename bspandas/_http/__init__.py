"""Bytes only: the HTTP client and what it needs. Nothing here knows pandas.

One module per concern (the client imports them; only ``transport`` imports ``requests``):

- ``client``: the :class:`Client` and the export flow (one attempt: pace, token, send);
- ``default``: ``connect``, ``default_client``, ``set_default_client``;
- ``retry``: the only owner of retry decisions (policy, attempts, Retry-After, giving up);
- ``deadline``: the bound of one export call and the timer that enforces it;
- ``transport``: the ``requests`` session, watched connections, failures as errors;
- ``body``: the streamed answer, its framing checks and capped decompression;
- ``status``: what an answer's status means, as a bspandas error;
- ``auth``: tokens, their checks and renewal, the redacted secret holder;
- ``pacer``, ``config``, ``wire``: the hourly budget, where credentials come from, and the
  endpoint paths shared with the sandbox.

On a network nobody controls the client holds to a few rules: it never follows a redirect
(the client secret and the token go to the configured host only); every export call ends
within ``deadline`` seconds, retries included, however slowly the server sends; only a
``text/csv`` answer reaches the parser, and one whose framing proves bytes are missing is
never handed on as complete; error bodies are read a few KiB at most and compressed answers
are decoded with a size cap; exceptions carry no ``requests`` objects.
"""
