"""Imports every table so `SQLModel.metadata` is complete (Alembic and tests use it)."""

from hub.assessment.models import AssessedCase, AssessmentScheme, Holding
from hub.attachments.models import Attachment
from hub.audit.models import AuditEntry
from hub.auth.models import ApiKey, User
from hub.cases.models import Case, CaseEvent
from hub.catalogue.models import CatalogueEntry
from hub.dispatch.models import ReferenceVersion
from hub.org.models import Department, Post, Staff
from hub.outbox.models import ConsumerPosition
from hub.realtime.models import StreamState
from hub.regions.models import Region
from hub.sla.models import CalendarDay, Deadline

__all__ = [
    "ApiKey",
    "AssessedCase",
    "AssessmentScheme",
    "Attachment",
    "AuditEntry",
    "CalendarDay",
    "Case",
    "CaseEvent",
    "CatalogueEntry",
    "ConsumerPosition",
    "Deadline",
    "Department",
    "Holding",
    "Post",
    "ReferenceVersion",
    "Region",
    "Staff",
    "StreamState",
    "User",
]
