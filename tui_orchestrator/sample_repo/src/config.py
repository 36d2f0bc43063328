"""Settings read from the environment."""

import os

DEBUG = os.environ.get("DEBUG", "1") == "1"
# BUG(high): hard-coded fallback secret key
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-secret-123")
DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///shop.db")
