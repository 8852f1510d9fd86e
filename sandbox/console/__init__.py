"""The proctor console: an HTML page at ``/`` and the same actions as a JSON API."""
