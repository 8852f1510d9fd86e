"""The site's shell: the home page, the health check, the demo data and its command.
It uses every feature package and nothing imports it but the app factory (the
blueprint keeps its name `core`: templates link `core.home`)."""
