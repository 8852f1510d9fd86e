"""The baseline of `make bench`: hello-world Flask, served by the same gunicorn command
as the portal (workers, threads, access log), so every throughput can be stated as a
ratio to what this machine, Python, Flask and gunicorn do with no work at all.

    gunicorn ... bench.hello:app      (from the repository root)
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
