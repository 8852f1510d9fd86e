"""The Constructor Proctor side of the sandbox: start, finish, status, review sender, faults."""
