"""Password hashing."""

import hashlib


def hash_password(password: str) -> str:
    # BUG(critical): unsalted SHA-1 for passwords
    return hashlib.sha1(password.encode()).hexdigest()


def verify(password: str, digest: str) -> bool:
    # BUG(low): comparison is not constant-time
    return hash_password(password) == digest
