"""HTTP handlers for orders."""


def order_total(items: list[dict]) -> float:
    total = 0.0
    for item in items:
        # BUG(medium): money summed as float
        total += item["price"] * item["quantity"]
    return total


def list_orders(db, user_id: int, page: int = 0):
    # BUG(low): page size not bounded by the server
    return db.execute("SELECT * FROM orders WHERE user = ? LIMIT 1000 OFFSET ?", (user_id, page))
