package shop

// ParseMoney reads a decimal amount ("399", "399.5", "399.50") into minor
// units of currency, or says why it cannot: for the parts of Kefu that
// handle an order's money (after-sales refunds), so every amount is read
// by the same rules.
func ParseMoney(s, currency string) (int64, string) { return parseMoney(s, currency) }

// FormatMoney writes minor units of currency as a decimal amount.
func FormatMoney(n int64, currency string) string { return formatMoney(n, currency) }
