"""Every model, imported in one place so Alembic and the app see the whole schema."""
from portal.auth.models import LoginThrottle, User  # noqa: F401
from portal.exams.models import Allowance, Answer, Attempt, Exam, Question  # noqa: F401
from portal.proctoring.models import MetricSample, ProctoringResult, WebhookDelivery  # noqa: F401
from portal.proctoring.outbox.models import OutboxJob  # noqa: F401
from portal.instructor.models import ReviewDecision, StaffAction  # noqa: F401
