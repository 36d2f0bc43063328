import React, { useEffect, useState } from "react";

export function Search() {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<string[]>([]);
  useEffect(() => {
    // BUG(medium): a request per key press, and late answers overwrite newer ones
    fetch(`/api/search?q=${query}`).then((r) => r.json()).then(setResults);
  }, [query]);
  return (
    <div>
      <input value={query} onChange={(e) => setQuery(e.target.value)} />
      <ul>{results.map((r) => <li key={r}>{r}</li>)}</ul>
    </div>
  );
}
