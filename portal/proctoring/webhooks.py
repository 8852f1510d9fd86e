"""Result deliveries from proctoring servers (machine endpoints, CSRF-exempt)."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__)
