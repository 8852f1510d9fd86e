"""The instructors' results dashboard. Views parse the request, call one query, render.

Reading only: an overdue attempt shows as expired (Attempt.shown_state, in the queries)
until the worker's sweep or the next write closes it; no view here writes.

Every view of this blueprint is for instructors only: the guard is the blueprint's
`before_request`, so a view added later cannot forget it (a test walks the URL map).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (Blueprint, Response, abort, current_app, make_response, render_template,
                   request, stream_with_context, url_for)
from flask_login import current_user
from markupsafe import Markup

from portal.dashboard import charts, export, links, present, queries, summaries
from portal.dashboard.filters import (PER_PAGE_CHOICES, STATE_CHOICES, STATUS_CHOICES,
                                      TableFilters)
from portal.db_types import utcnow
from portal.instructor import panels
from portal.proctoring.metrics import METRIC_NAMES, metric_label, metric_name

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

POLL_SECONDS = 5


@bp.before_request
def instructors_only():
    """Anonymous: to the login page (a polling request is told to go there too).
    Logged in but not an instructor: 403."""
    if not current_user.is_authenticated:
        if request.headers.get("HX-Request"):
            # A fetch cannot follow a login redirect usefully: send the whole page there.
            came_from = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = came_from.path + (f"?{came_from.query}" if came_from.query else "")
            response = make_response("", 401)
            response.headers["HX-Redirect"] = url_for(
                "auth.login", next=back if back.startswith("/dashboard") else "/dashboard")
            return response
        return current_app.login_manager.unauthorized()
    if not current_user.is_instructor:
        abort(403)
    return None


@bp.context_processor
def helpers():
    return {"charts": charts, "links": links, "present": present, "fmt": charts.fmt,
            "metric_name": metric_name, "metric_label": metric_label,
            "METRIC_NAMES": METRIC_NAMES}


def _live_table(filters: TableFilters) -> Markup:
    """The results table's HTML (the rows partial)."""
    page = queries.results_page(filters)
    return Markup(render_template("dashboard/_rows.html", page=page, filters=filters))


def _wrap(inner: Markup, digest: str, filters: TableFilters) -> str:
    return render_template("dashboard/_live.html", inner=inner, digest=digest,
                           poll_seconds=POLL_SECONDS,
                           poll_url=url_for("dashboard.rows", **filters.to_args(), v=digest))


@bp.get("/")
@bp.get("")
def index():
    filters = TableFilters.from_args(request.args)
    # The stamp is taken before the table is read: a change in between shows up as a
    # new stamp at the next poll (one extra render), never as a missed change.
    digest = queries.table_stamp(filters)
    inner = _live_table(filters)
    return render_template(
        "dashboard/index.html", filters=filters, table=Markup(_wrap(inner, digest, filters)),
        exam_choices=queries.exam_choices(), status_choices=STATUS_CHOICES,
        state_choices=STATE_CHOICES, per_page_choices=PER_PAGE_CHOICES,
        unmatched_count=summaries.unmatched_count(), active="results")


@bp.get("/rows")
def rows():
    """The polled partial: the table for the same filters, or 204 if nothing it shows
    can have changed (the page sends back the stamp it was given: no table query, no
    render), so the page keeps focus, hover and scroll position."""
    filters = TableFilters.from_args(request.args)
    digest = queries.table_stamp(filters)
    if request.args.get("v") == digest:
        return Response(status=204)
    return _wrap(_live_table(filters), digest, filters)


@bp.get("/export.csv")
def export_csv():
    """The filtered table (every page) as CSV."""
    filters = TableFilters.from_args(request.args)
    rows = queries.results_for_export(filters)
    filename = f"results-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(export.csv_lines(rows)),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/attempts/<int:attempt_id>")
def attempt(attempt_id: int):
    detail = queries.attempt_detail(attempt_id) or abort(404)
    return render_template("dashboard/attempt.html", detail=detail, row=detail.row,
                           actions=panels.attempt_panel(detail.attempt, detail.row.result),
                           requeue_available=links.requeue_available(),
                           unmatched_count=summaries.unmatched_count(), active="results")


@bp.get("/exams")
def exam_list():
    return render_template("dashboard/exams.html", lines=summaries.exams_overview(),
                           unmatched_count=summaries.unmatched_count(), active="exams")


@bp.get("/exams/<int:exam_id>")
def exam_summary(exam_id: int):
    summary = summaries.exam_summary(exam_id) or abort(404)
    return render_template("dashboard/exam.html", summary=summary, filters=TableFilters(),
                           allowance_panel=panels.exam_panel(exam_id),
                           unmatched_count=summaries.unmatched_count(), active="exams")


@bp.get("/unmatched")
def unmatched():
    data = summaries.unmatched()
    return render_template("dashboard/unmatched.html", data=data,
                           unmatched_count=data.total, active="unmatched")
