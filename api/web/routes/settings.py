"""An organization's settings page: whom volunteers call (every kind that has volunteers or
work), and for a center standby per request, automatic promotion of standby, automatic repair
runs and the check-in window after which confirmed work is a no-show; for a university whether
its volunteers may change their weekly availability through their link. The rules are the
API's (`api.services.organizations.update_settings`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep
from api.errors import InvalidInput
from api.models import ROSTER_OWNERS, OrgKind
from api.schemas.organizations import SettingsPatch
from api.services.organizations import (
    Caller,
    settings_of,
    update_settings,
    visible_organization,
)
from api.web import forms
from api.web.routing import console_router
from api.web.security import Posted, changes, console
from api.web.templating import language_of, render

router = console_router()
KINDS = (OrgKind.CENTER, *ROSTER_OWNERS)
SettingsUser = Annotated[Caller, Depends(console(*KINDS))]
SettingsChange = Annotated[Posted, Depends(changes(*KINDS))]
CHECKBOXES = {
    OrgKind.CENTER: ("auto_promote_standby", "auto_repair"),
    **dict.fromkeys(ROSTER_OWNERS, ("volunteers_edit_availability",)),
}
NUMBERS = {
    OrgKind.CENTER: ("standby_per_request", "no_show_after_min"),
    **dict.fromkeys(ROSTER_OWNERS, ()),
}


def _page(
    request: Request, caller: Caller, session: SessionDep, status_code: int = 200, **context: Any
) -> Response:
    org = visible_organization(session, caller, caller.org_id)
    context.setdefault("values", settings_of(org).model_dump())
    context.setdefault("errors", {})
    return render(request, "settings.html", status_code=status_code, org=org, **context)


@router.get("/settings")
def settings_page(
    request: Request, caller: SettingsUser, session: SessionDep, saved: str | None = None
) -> Response:
    return _page(request, caller, session, saved=bool(saved))


@router.post("/settings")
def save_settings(request: Request, posted: SettingsChange, session: SessionDep) -> Response:
    caller, form = posted
    lang = language_of(request)
    values: dict[str, Any] = {
        name: forms.text(form, name) or None for name in ("contact_name", "contact_phone")
    }
    for name in NUMBERS[caller.kind]:
        values[name] = forms.text(form, name) or None
    for name in CHECKBOXES[caller.kind]:
        values[name] = bool(forms.text(form, name))
    if values.get("standby_per_request") is None and caller.kind is OrgKind.CENTER:
        values["standby_per_request"] = "0"
    try:
        patch = SettingsPatch.model_validate(values)
        update_settings(
            session, caller, visible_organization(session, caller, caller.org_id), patch
        )
    except ValidationError as exc:
        errors = forms.pydantic_errors(lang, exc)
    except InvalidInput as exc:
        errors = forms.api_field_errors(lang, exc.fields)
    else:
        return RedirectResponse("/settings?saved=1", status_code=303)
    return _page(request, caller, session, 422, values=values, errors=errors)
