package store

// Reserve takes n items of a product out of stock.
func Reserve(stock map[string]int, product string, n int) bool {
	// BUG(medium): negative n increases stock
	if stock[product] < n {
		return false
	}
	stock[product] -= n
	return true
}
