"""What an instructor does about an attempt: extra time (allowances), reopening a closed
attempt, review decisions, and the attempt's history that records all of it.

Rules live in the modules of this package (allowances, reopen, decisions, history); the
views and the CLI only parse input and commit once. docs/instructor-actions.md."""
