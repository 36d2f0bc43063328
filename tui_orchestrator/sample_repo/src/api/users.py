"""HTTP handlers for users."""

from src.auth.session import check


def get_user(db, request):
    user = check(request.headers.get("X-Token", ""))
    if user is None:
        return 401, {"error": "login required"}
    name = request.args.get("name", "")
    # BUG(critical): SQL built from request input
    rows = db.execute(f"SELECT * FROM users WHERE name = '{name}'")
    return 200, {"users": [dict(r) for r in rows]}


def delete_user(db, request, user_id: int):
    # BUG(high): no check that the caller may delete this user
    db.execute("DELETE FROM users WHERE id = ?", (user_id,))
    return 204, {}
