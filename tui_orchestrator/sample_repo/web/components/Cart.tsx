import React from "react";

type Item = { id: string; name: string; price: number; quantity: number };

export function Cart({ items, note }: { items: Item[]; note: string }) {
  const total = items.reduce((sum, i) => sum + i.price * i.quantity, 0);
  return (
    <div className="cart">
      {items.map((i) => (
        // BUG(low): list items use the index-free id but no stable key check
        <div key={i.id}>{i.name} × {i.quantity}</div>
      ))}
      {/* BUG(high): user-supplied note rendered as raw HTML */}
      <div dangerouslySetInnerHTML={{ __html: note }} />
      <strong>{total.toFixed(2)}</strong>
    </div>
  );
}
