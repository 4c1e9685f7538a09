"""Bytes only: the HTTP client (auth, retries, pacing, the deadline, framing checks), its
configuration, and the wire paths shared with the sandbox. Nothing here knows pandas."""
