"""Secret values a model quotes are redacted before anything is stored or written.

An agent that finds a hard-coded key often quotes it in the finding's evidence or
description; the checkpoint, the reports and a SARIF upload would then spread it further.
Values matching well-known token shapes, private key blocks, and what is assigned to a name
that says password, secret, token or key are replaced by ``[REDACTED]``; the name stays,
so the finding still says what is wrong.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

# Tokens recognisable by their shape alone.
_TOKENS = re.compile(
    r"""(?x)
    \bAKIA[0-9A-Z]{16}\b                       # AWS access key id
    | \bASIA[0-9A-Z]{16}\b                     # AWS temporary key id
    | \bgh[pousr]_[A-Za-z0-9]{36,}\b           # GitHub tokens
    | \bgithub_pat_[A-Za-z0-9_]{22,}\b
    | \bxox[abposr]-[A-Za-z0-9-]{10,}\b        # Slack
    | \bsk-ant-[A-Za-z0-9_-]{20,}              # Anthropic
    | \bsk-(?:proj-)?[A-Za-z0-9_-]{20,}        # OpenAI
    | \bAIza[0-9A-Za-z_-]{35}\b                # Google API key
    | \b(?:sk|rk)_live_[0-9A-Za-z]{16,}\b      # Stripe
    | \beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}  # a JWT
    """
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
# ``password = "hunter2"``, ``"api_key": 'abc…'``, ``SECRET_KEY=abc`` (a quoted value, or an
# unquoted one of 8 characters or more).
_ASSIGNED = re.compile(
    r"""(?ix)
    (?P<name>[\w.-]*(?:passw(?:or)?d|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential)[\w.-]*
       ["']?\s*[:=]\s*)
    (?:(?P<quote>["'])(?P<quoted>[^"'\n]{4,})(?P=quote)|(?P<bare>[^\s"',;()]{8,})(?=[\s,;]|$))
    """
)


def redact(text: str) -> str:
    """``text`` with every secret value it quotes replaced by ``[REDACTED]``."""
    if not text:
        return text
    text = _PRIVATE_KEY.sub(MASK, text)
    text = _TOKENS.sub(MASK, text)

    def assigned(match: re.Match[str]) -> str:
        if match.group("quote"):
            value = match.group("quoted")
            if value == MASK:
                return match.group(0)
            return f"{match.group('name')}{match.group('quote')}{MASK}{match.group('quote')}"
        if MASK in match.group("bare"):
            return match.group(0)
        return f"{match.group('name')}{MASK}"

    return _ASSIGNED.sub(assigned, text)
