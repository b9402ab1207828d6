from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

# Letters of any script (Taobao nicks are often Chinese), digits, '_' and '-'.
NICK_PATTERN = re.compile(r"^[\w\-]{2,32}$")


class SignUpInput(BaseModel):
    nick: str = Field(min_length=2, max_length=32)
    password: str = Field(min_length=8, max_length=128)
    email: str | None = Field(default=None, max_length=254)

    @field_validator("nick")
    @classmethod
    def _nick_chars(cls, value: str) -> str:
        value = value.strip()
        if not NICK_PATTERN.match(value):
            raise ValueError("use 2–32 letters, digits, '_' or '-'")
        return value

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip()
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
            raise ValueError("not an e-mail address")
        return value
