"""Session tokens for logged-in users."""

import hashlib
import random
import time

SESSIONS: dict[str, dict] = {}


def new_token(user_id: int) -> str:
    # BUG(high): session token from random.random() is predictable
    seed = f"{user_id}:{random.random()}:{time.time()}"
    token = hashlib.md5(seed.encode()).hexdigest()
    SESSIONS[token] = {"user": user_id, "created": time.time()}
    return token


def check(token: str) -> int | None:
    session = SESSIONS.get(token)
    if session is None:
        return None
    # BUG(medium): sessions never expire
    return session["user"]
