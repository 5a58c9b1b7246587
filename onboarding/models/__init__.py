from onboarding.models.audit import AuditAction, AuditChainHead, AuditEvent, AuditVerification
from onboarding.models.preferences import ReviewQueueColumns
from onboarding.models.records import (
    AV_FIELDS,
    DATA_FIELDS,
    SEARCH_FIELDS,
    ActividadVulnerable,
    ClientRecord,
    ClientType,
    DuplicateDismissal,
    RecordStatus,
    joined_last_name,
    record_search_text,
    search_fold,
)
from onboarding.models.submissions import ArtuEnvironment, BatchState, Submission, SubmissionBatch, SubmissionStatus
from onboarding.models.uploads import SavedMapping, Upload, UploadFormat, UploadStatus

__all__ = [
    "ArtuEnvironment",
    "BatchState",
    "SavedMapping",
    "Submission",
    "SubmissionBatch",
    "SubmissionStatus",
    "Upload",
    "UploadFormat",
    "UploadStatus",
    "AV_FIELDS",
    "DATA_FIELDS",
    "SEARCH_FIELDS",
    "ActividadVulnerable",
    "AuditAction",
    "AuditChainHead",
    "AuditEvent",
    "AuditVerification",
    "ClientRecord",
    "ClientType",
    "DuplicateDismissal",
    "RecordStatus",
    "ReviewQueueColumns",
    "joined_last_name",
    "record_search_text",
    "search_fold",
]
