"""The Supervisor SDK side of the sandbox: token auth, sessions, SDK script, links."""
