"""The gateway: routing, header rules, TLS identity, session pool, resolver cache, forwarding."""
