from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def role_required(role: str):
    """Logged in (else the login page) and of this role (else 403)."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role != role:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


instructor_required = role_required("instructor")
student_required = role_required("student")
