"""Bodies of certificates: issuing one or a batch, reading them, and the public verification."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import MAX_ID, StrictModel


class Service(BaseModel):
    """One completed assignment on a certificate."""

    day: date = Field(description="Local date of the service.")
    center: str
    title: str
    service_type: str
    hours: float


class CertificateIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"volunteer_id": 1, "from": "2026-01-01", "to": "2026-06-30"}]
        }
    )
    volunteer_id: int = Field(ge=1, le=MAX_ID)
    first_day: date = Field(alias="from", description="First day of the period (local).")
    last_day: date = Field(alias="to", description="Last day of the period, inclusive.")


class CertificateBatchIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"from": "2026-01-01", "to": "2026-06-30"}]}
    )
    first_day: date = Field(alias="from", description="First day of the period (local).")
    last_day: date = Field(alias="to", description="Last day of the period, inclusive.")
    volunteer_ids: list[int] | None = Field(
        default=None,
        max_length=5000,
        description="Default: every volunteer of the organization with hours in the period.",
    )


class RevokeIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "issued in error"}]})
    reason: str = Field(min_length=1, max_length=500, examples=["issued in error"])


class CertificateOut(BaseModel):
    id: int
    code: str = Field(description="The verification code printed on the certificate.")
    verify_url: str
    volunteer_id: int
    organization_id: int
    first_day: date = Field(serialization_alias="from")
    last_day: date = Field(serialization_alias="to")
    hours: float
    services: list[Service]
    issued_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class Verification(BaseModel):
    """What anyone holding a certificate's code may learn: no contact data, no number."""

    status: Literal["valid", "revoked"]
    holder: str = Field(
        description="The holder's name masked to its first character (张**), or the "
        "pseudonymous id of a person whose data were erased."
    )
    organization: str
    first_day: date = Field(serialization_alias="from")
    last_day: date = Field(serialization_alias="to")
    hours: float
    issued_at: datetime
    revoked_at: datetime | None
