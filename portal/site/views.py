"""Home page and health check."""
from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.exams import services as exams
from portal.extensions import db

bp = Blueprint("core", __name__)


@bp.get("/")
@login_required
def home():
    """Students: their exams. Instructors: straight to the results dashboard."""
    if current_user.is_instructor:
        return redirect(url_for("dashboard.index"))
    return render_template("home.html", rows=exams.student_overview(current_user))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        return jsonify(status="unavailable", database=type(error).__name__), 503
    return jsonify(status="ok", database="ok")
