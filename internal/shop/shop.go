// Package shop mirrors what a shop sells and what its customers bought:
// products and SKUs with their attributes, stock and after-sales terms;
// orders with items, amounts, payment, shipments and tracking events. The
// shop's store feeds it through the API, a signed webhook and CSV imports;
// Kefu tells customers when an order is confirmed and when it will be
// late, links tickets to their orders, and decides whether an item is
// still inside its return, exchange or repair window (Check).
package shop

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Shop is one store whose orders Kefu mirrors. Its time zone decides on
// which day a window closes; its terms are the defaults every product and
// SKU may override.
type Shop struct {
	ID       string `json:"id"`
	Code     string `json:"code" doc:"The shop's short name in URLs and imports, such as tianhe"`
	Name     string `json:"name"`
	Timezone string `json:"timezone" doc:"IANA zone, such as Asia/Shanghai: return windows close at midnight here"`
	Currency string `json:"currency" doc:"ISO 4217 code of orders that name none, such as CNY"`
	Language string `json:"language" enum:"en,zh-CN" doc:"Language of notices to customers who have none set"`
	Terms    Terms  `json:"terms" doc:"Default after-sales terms; products and SKUs override them field by field"`
	// Notices say which proactive mails customers get.
	NotifyConfirmation bool       `json:"notify_confirmation" doc:"Mail an order confirmation with the expected delivery date"`
	NotifyDelay        bool       `json:"notify_delay" doc:"Mail a delay notice when the expected delivery moves later or passes without delivery"`
	SecretRotatedUntil *time.Time `json:"previous_secret_valid_until,omitempty" doc:"After a rotation, the old webhook secret still verifies until then"`
	Version            int        `json:"version"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`

	loc *time.Location
}

// Location is the shop's time zone.
func (s *Shop) Location() *time.Location {
	if s.loc == nil {
		s.loc = loadLocation(s.Timezone)
	}
	return s.loc
}

// ETagVersion is the version an ETag of the shop names.
func (s *Shop) ETagVersion() int { return s.Version }

// StockStatus says whether a SKU can be bought.
type StockStatus string

const (
	InStock      StockStatus = "in_stock"
	LowStock     StockStatus = "low_stock"
	OutOfStock   StockStatus = "out_of_stock"
	Preorder     StockStatus = "preorder"
	Discontinued StockStatus = "discontinued"
)

// StockStatuses lists every stock status.
var StockStatuses = []StockStatus{InStock, LowStock, OutOfStock, Preorder, Discontinued}

// Product is an article the shop sells, in one or more SKUs.
type Product struct {
	ID       string `json:"id"`
	Shop     string `json:"shop" doc:"The shop's code"`
	Code     string `json:"code" doc:"The shop's own product code"`
	Name     string `json:"name"`
	Supplier string `json:"supplier" doc:"Who makes or supplies it; return rates are reported by supplier"`
	Category string `json:"category"`
	Material string `json:"material" doc:"Material of every SKU that names none"`
	Terms    Terms  `json:"terms" doc:"After-sales terms of every SKU, over the shop's defaults"`
	SKUs     []SKU  `json:"skus"`
	Version  int    `json:"version"`
	// CreatedAt and UpdatedAt are when Kefu first and last stored it.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ETagVersion is the version an ETag of the product names.
func (p *Product) ETagVersion() int { return p.Version }

// SKU is one sellable variant of a product.
type SKU struct {
	ID            string      `json:"id"`
	Code          string      `json:"code" doc:"The shop's SKU code, unique in the shop"`
	Name          string      `json:"name" doc:"Variant name, if the shop has one"`
	Size          string      `json:"size"`
	Colour        string      `json:"colour"`
	Material      string      `json:"material" doc:"Empty: the product's material"`
	Price         string      `json:"price" doc:"Current price in the shop's currency, such as 299.00"`
	StockStatus   StockStatus `json:"stock_status" enum:"in_stock,low_stock,out_of_stock,preorder,discontinued"`
	StockQuantity *int        `json:"stock_quantity,omitempty"`
	Terms         Terms       `json:"terms" doc:"This SKU's own after-sales terms, over the product's"`
	Effective     *Effective  `json:"effective_terms,omitempty" doc:"The terms that apply: shop defaults, then the product's, then the SKU's"`
	Archived      bool        `json:"archived" doc:"No longer sold (dropped from its product); kept for the orders that hold it"`
}

// SKUDetail is a SKU with its product and the terms that apply.
type SKUDetail struct {
	SKU
	Shop        string `json:"shop"`
	Product     string `json:"product" doc:"The product's code"`
	ProductName string `json:"product_name"`
	Supplier    string `json:"supplier"`
	Category    string `json:"category"`
}

// OrderStatus is where an order is, as the shop reports it.
type OrderStatus string

const (
	Pending    OrderStatus = "pending"
	Paid       OrderStatus = "paid"
	Processing OrderStatus = "processing"
	Shipped    OrderStatus = "shipped"
	Delivered  OrderStatus = "delivered"
	Completed  OrderStatus = "completed"
	Cancelled  OrderStatus = "cancelled"
	Refunded   OrderStatus = "refunded"
)

// OrderStatuses lists every order status.
var OrderStatuses = []OrderStatus{Pending, Paid, Processing, Shipped, Delivered, Completed, Cancelled, Refunded}

// underway reports whether the order is still on its way to the customer:
// the only orders a confirmation or a delay notice is about.
func (s OrderStatus) underway() bool {
	return s == Pending || s == Paid || s == Processing || s == Shipped
}

// ShipmentStatus is where a parcel is.
type ShipmentStatus string

const (
	ShipPending    ShipmentStatus = "pending"
	InTransit      ShipmentStatus = "in_transit"
	OutForDelivery ShipmentStatus = "out_for_delivery"
	ShipDelivered  ShipmentStatus = "delivered"
	Exception      ShipmentStatus = "exception"
	Returned       ShipmentStatus = "returned"
)

// ShipmentStatuses lists every shipment status.
var ShipmentStatuses = []ShipmentStatus{ShipPending, InTransit, OutForDelivery, ShipDelivered, Exception, Returned}

// Order is an order as the shop reports it, with what Kefu adds when it
// is read one at a time: each item's SKU, terms and windows, and the
// notices sent about it.
type Order struct {
	ID               string      `json:"id"`
	Shop             string      `json:"shop" doc:"The shop's code"`
	Number           string      `json:"number" doc:"The shop's order number, upper-cased without a leading #"`
	Status           OrderStatus `json:"status" enum:"pending,paid,processing,shipped,delivered,completed,cancelled,refunded"`
	CustomerID       string      `json:"customer_id"`
	Currency         string      `json:"currency"`
	Total            string      `json:"total" doc:"Decimal amount such as 399.00"`
	Paid             string      `json:"paid"`
	PaymentMethod    string      `json:"payment_method"`
	OrderedAt        time.Time   `json:"ordered_at"`
	ExpectedDelivery string      `json:"expected_delivery" doc:"The date the shop expects delivery (YYYY-MM-DD, in the shop's zone); empty when unknown"`
	DeliveredAt      *time.Time  `json:"delivered_at,omitempty"`
	ShippingAddress  string      `json:"shipping_address"`
	Note             string      `json:"note"`
	Items            []Item      `json:"items"`
	Shipments        []Shipment  `json:"shipments"`
	Notices          []Notice    `json:"notices,omitempty" doc:"Mails sent to the customer about this order"`
	Overdue          bool        `json:"overdue" doc:"Undelivered after the expected delivery date"`
	Version          int         `json:"version"`
	CreatedAt        time.Time   `json:"created_at"`
	UpdatedAt        time.Time   `json:"updated_at"`

	total, paid int64
	// delayNoticed is the expected date a lateness notice was sent for.
	delayNoticed string
}

// ETagVersion is the version an ETag of the order names.
func (o *Order) ETagVersion() int { return o.Version }

// Item is one line of an order.
type Item struct {
	ID             string `json:"id"`
	SKU            string `json:"sku" doc:"The SKU code; it need not be in the catalogue yet (the shop's default terms apply until it is)"`
	Name           string `json:"name" doc:"The item's title when it was bought"`
	Quantity       int    `json:"quantity"`
	UnitPrice      string `json:"unit_price"`
	TrackingNumber string `json:"tracking_number,omitempty" doc:"The shipment it went out in, when the order was split"`
	// Origin says who added the line: the store, or Kefu when an
	// exchange's replacement shipped. The store's upserts replace only
	// its own lines.
	Origin  string `json:"origin" enum:"store,exchange" doc:"store: a line of the shop's order; exchange: a replacement Kefu added when an after-sales exchange shipped, at no charge, kept when the store sends the order again and never counted as sold"`
	CaseID  string `json:"case_id,omitempty" doc:"exchange: the after-sales case it replaces goods for"`
	CaseKey string `json:"case_key,omitempty" doc:"exchange: that case's key, such as AS-1001"`
	// Filled when an order is read one at a time.
	Detail      *SKUDetail    `json:"sku_detail,omitempty" doc:"The SKU as catalogued; absent when it is not"`
	Terms       *Effective    `json:"terms,omitempty" doc:"The after-sales terms that apply to this item"`
	DeliveredAt *time.Time    `json:"delivered_at,omitempty" doc:"When this item reached the customer: its shipment's delivery, else the order's"`
	Windows     []Eligibility `json:"windows,omitempty" doc:"Return, exchange and repair, each open or closed as of the time of reading"`

	price int64
}

// Shipment is one parcel of an order.
type Shipment struct {
	ID             string          `json:"id"`
	Carrier        string          `json:"carrier"`
	TrackingNumber string          `json:"tracking_number"`
	Status         ShipmentStatus  `json:"status" enum:"pending,in_transit,out_for_delivery,delivered,exception,returned"`
	ShippedAt      *time.Time      `json:"shipped_at,omitempty"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty"`
	Events         []TrackingEvent `json:"events" doc:"The carrier's tracking history, oldest first"`
	// A parcel carrying an exchange's replacement names its case.
	CaseID  string `json:"case_id,omitempty" doc:"The after-sales case whose replacement this parcel carries"`
	CaseKey string `json:"case_key,omitempty" doc:"That case's key, such as AS-1001"`
}

// TrackingEvent is one scan in a parcel's history.
type TrackingEvent struct {
	At          time.Time `json:"at"`
	Status      string    `json:"status" doc:"The carrier's status, such as in_transit or delivered"`
	Description string    `json:"description"`
	Location    string    `json:"location"`
}

// Origins of an order line.
const (
	OriginStore    = "store"    // the shop's own line, as its store sends it
	OriginExchange = "exchange" // a replacement Kefu sent for an after-sales exchange
)

// Notice is a mail to the customer about an order.
type Notice struct {
	Kind      string    `json:"kind" enum:"confirmation,delay"`
	Key       string    `json:"key" doc:"What it was about, such as the new expected date; each is sent once"`
	Language  string    `json:"language"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	State     string    `json:"state" enum:"pending,sent,failed,skipped"`
	Detail    string    `json:"detail,omitempty" doc:"Why it was skipped: no email address, no mailbox"`
	CreatedAt time.Time `json:"created_at"`
}

// NormalizeNumber makes order numbers comparable however they were typed,
// exactly as tickets store theirs.
func NormalizeNumber(s string) string {
	return strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(s), "#"))
}

// zeroDecimal lists currencies without a minor unit.
var zeroDecimal = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true, "UGX": true}

func decimals(currency string) int {
	if zeroDecimal[currency] {
		return 0
	}
	return 2
}

// checkCurrency returns why c is not an ISO 4217 code, or "".
func checkCurrency(c string) string {
	if len(c) != 3 || strings.ToUpper(c) != c || strings.ContainsFunc(c, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		return "must be a three-letter ISO 4217 code such as CNY"
	}
	return ""
}

// parseMoney reads a decimal amount ("399", "399.5", "399.50") into minor
// units of currency. Amounts are kept as integers so nothing is lost to
// floating point.
func parseMoney(s, currency string) (int64, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ""
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, hasDot := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	d := decimals(currency)
	if whole == "" || !digits(whole) || (hasDot && (frac == "" || !digits(frac))) || len(frac) > d || len(whole) > 15 {
		if d == 0 {
			return 0, fmt.Sprintf("must be a whole amount of %s, such as 1200", currency)
		}
		return 0, fmt.Sprintf("must be an amount with at most %d decimals, such as 399.00", d)
	}
	n, _ := strconv.ParseInt(whole, 10, 64)
	for range d {
		n *= 10
	}
	if frac != "" {
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", d-len(frac)), 10, 64)
		n += f
	}
	if neg {
		n = -n
	}
	return n, ""
}

func digits(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

// formatMoney writes minor units as a decimal amount.
func formatMoney(n int64, currency string) string {
	d := decimals(currency)
	if d == 0 {
		return strconv.FormatInt(n, 10)
	}
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

func loadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}
