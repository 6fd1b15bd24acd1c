"""What the switch API reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reelm.inputs import Text
from reelm.realms.models import Capability, SwitchState
from reelm.realms.service import MAX_NOTICE, MAX_REASON
from reelm.realms.switches import Switch


class SwitchOut(BaseModel):
    realm: str
    capability: Capability
    state: SwitchState
    percent: int = Field(description="share of accounts let through: 0 when off, 100 when on")
    notice: str = Field(description="what people who are refused are told")
    changed_by: str | None = Field(description='"operator-cli" or "staff:<id>"; null if never changed')
    changed_at: datetime | None
    reason: str

    @classmethod
    def of(cls, switch: Switch) -> SwitchOut:
        return cls(
            realm=switch.realm,
            capability=switch.capability,
            state=switch.state,
            percent=switch.percent,
            notice=switch.notice,
            changed_by=switch.changed_by,
            changed_at=switch.changed_at,
            reason=switch.reason,
        )


class SwitchList(BaseModel):
    realm: str
    title: str
    items: list[SwitchOut]


def _percent_only_when_partial_schema(schema: dict[str, Any]) -> None:
    """The rule of `SwitchIn._percent_only_when_partial`, in the OpenAPI document."""
    schema["oneOf"] = [
        {"properties": {"state": {"enum": ["on", "off"]}, "percent": {"type": "null"}}},
        {
            "properties": {"state": {"const": "percent"}, "percent": {"type": "integer"}},
            "required": ["state", "percent"],
        },
    ]


class SwitchIn(BaseModel):
    """`on`; `off` with a notice (or the one already set); `percent` with `percent` from 1 to 99."""

    model_config = ConfigDict(json_schema_extra=_percent_only_when_partial_schema)

    state: SwitchState
    percent: int | None = Field(default=None, ge=1, le=99)
    notice: Text | None = Field(default=None, max_length=MAX_NOTICE)
    reason: Text = Field(default="", max_length=MAX_REASON)

    @model_validator(mode="after")
    def _percent_only_when_partial(self) -> SwitchIn:
        if (self.state is SwitchState.PERCENT) != (self.percent is not None):
            raise ValueError("percent is required with state 'percent' and only then")
        return self

    def target_percent(self) -> int:
        if self.state is SwitchState.PERCENT:
            assert self.percent is not None
            return self.percent
        return 100 if self.state is SwitchState.ON else 0
