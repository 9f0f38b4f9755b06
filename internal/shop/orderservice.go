package shop

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

// CreateOrder stores a new order; a number the shop has already is a
// conflict (change it with UpsertOrder).
func (s *Service) CreateOrder(ctx context.Context, in OrderInput) (*Order, error) {
	o, _, err := s.saveOrder(ctx, in, func(d *doc) { d.createOnly = true })
	return o, err
}

// UpsertOrder creates the order in.Number or brings it up to date with
// in; version, when not 0, must be the stored one (If-Match). The result
// is Created, Updated or Unchanged.
func (s *Service) UpsertOrder(ctx context.Context, in OrderInput, version int) (*Order, string, error) {
	return s.saveOrder(ctx, in, func(d *doc) { d.ifVersion = version })
}

func (s *Service) saveOrder(ctx context.Context, in OrderInput, opt func(*doc)) (*Order, string, error) {
	return s.putting(ctx, in.Shop, func(tx *sql.Tx, sh *Shop) (Outcome, error) { return s.putOrder(ctx, tx, sh, in, opt) })
}

// putting runs put for the shop named code in a transaction and reads
// back the order it wrote.
func (s *Service) putting(ctx context.Context, code string, put func(*sql.Tx, *Shop) (Outcome, error)) (*Order, string, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, "", err
	}
	var out Outcome
	var sh *Shop
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if sh, err = s.shop(ctx, tx, code); err != nil {
			return err
		}
		out, err = put(tx, sh)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	o, err := s.order(ctx, s.DB.Write, sh, out.ID)
	return o, out.Result, err
}

// putOrder validates and writes one order of sh in tx.
func (s *Service) putOrder(ctx context.Context, tx *sql.Tx, sh *Shop, in OrderInput, opt func(*doc)) (Outcome, error) {
	d, err := in.order(sh)
	if err != nil {
		return Outcome{}, err
	}
	opt(d)
	res, err := s.write(ctx, tx, sh, []*doc{d}, true, nil)
	if err != nil {
		return Outcome{}, err
	}
	return res[0], nil
}

// UpsertShipment adds a shipment to an order or brings one up to date
// (matched by tracking number), adding its new tracking events.
func (s *Service) UpsertShipment(ctx context.Context, shopCode, number string, in ShipmentInput) (*Order, string, error) {
	return s.putting(ctx, shopCode, func(tx *sql.Tx, sh *Shop) (Outcome, error) { return s.putShipment(ctx, tx, sh, number, in) })
}

// putShipment writes one shipment of order number of sh in tx.
func (s *Service) putShipment(ctx context.Context, tx *sql.Tx, sh *Shop, number string, in ShipmentInput) (Outcome, error) {
	cur, err := s.orderByNumber(ctx, tx, sh, number)
	if err != nil {
		return Outcome{}, err
	}
	oi := inputOf(cur)
	oi.Shipments = []ShipmentInput{in}
	d, err := oi.order(sh)
	if err != nil {
		return Outcome{}, renameFields(err, func(f string) string { return strings.TrimPrefix(f, "shipments[0].") })
	}
	res, err := s.write(ctx, tx, sh, []*doc{d}, true, nil)
	if err != nil {
		return Outcome{}, err
	}
	return res[0], nil
}

// inputOf is o as the store's input that would store it unchanged.
func inputOf(o *Order) OrderInput {
	in := OrderInput{Shop: o.Shop, Number: o.Number, Status: o.Status, Customer: CustomerRef{ID: o.CustomerID}, Currency: o.Currency,
		Total: formatMoney(o.total, o.Currency), Paid: formatMoney(o.paid, o.Currency), PaymentMethod: o.PaymentMethod,
		OrderedAt: o.OrderedAt, ExpectedDelivery: o.ExpectedDelivery, DeliveredAt: o.DeliveredAt, ShippingAddress: o.ShippingAddress, Note: o.Note}
	for _, it := range o.Items {
		if it.Origin != OriginStore {
			continue // Kefu's lines are not the store's to send
		}
		in.Items = append(in.Items, ItemInput{SKU: it.SKU, Name: it.Name, Quantity: it.Quantity, UnitPrice: formatMoney(it.price, o.Currency),
			TrackingNumber: it.TrackingNumber})
	}
	return in
}

// renameFields rewrites the field names of err's field errors: to place
// the errors of a part of a larger input (a webhook's order) or those of
// a body that is part of one (a shipment of an order).
func renameFields(err error, rename func(string) string) error {
	var e *kefu.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	c := *e
	c.Fields = make([]kefu.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		c.Fields[i] = kefu.FieldError{Field: rename(f.Field), Message: f.Message}
	}
	return &c
}

// Order returns an order by id, or by number in a shop ("" for the only
// one), with each item's SKU, terms, delivery and windows as of now, and
// the notices sent about it.
func (s *Service) Order(ctx context.Context, shopCode, idOrNumber string) (*Order, error) {
	if err := requireRead(ctx); err != nil {
		return nil, err
	}
	if kefu.ValidID(idOrNumber) {
		var code string
		err := s.DB.Read.QueryRowContext(ctx, `SELECT s.code FROM orders o JOIN shops s ON s.id = o.shop_id WHERE o.id = $1`, idOrNumber).Scan(&code)
		if err == nil {
			sh, err := s.shop(ctx, s.DB.Read, code)
			if err != nil {
				return nil, err
			}
			return s.order(ctx, s.DB.Read, sh, idOrNumber)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("shop: order: %w", err)
		}
	}
	sh, err := s.shop(ctx, s.DB.Read, shopCode)
	if err != nil {
		return nil, err
	}
	o, err := s.orderByNumber(ctx, s.DB.Read, sh, idOrNumber)
	if err != nil {
		return nil, err
	}
	return o, s.detail(ctx, s.DB.Read, sh, o)
}

func (s *Service) orderByNumber(ctx context.Context, q database.Querier, sh *Shop, number string) (*Order, error) {
	os, err := loadOrders(ctx, q, `o.shop_id = $1 AND o.number = $2`, "", sh.ID, NormalizeNumber(number))
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, kefu.Errorf(kefu.NotFound, "no order %s", NormalizeNumber(number))
	}
	os[0].fill(sh, s.Now())
	return os[0], nil
}

// order reads an order of sh by id, with its detail.
func (s *Service) order(ctx context.Context, q database.Querier, sh *Shop, id string) (*Order, error) {
	os, err := loadOrders(ctx, q, `o.id = $1`, "", id)
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, kefu.Errorf(kefu.NotFound, "no order %s", id)
	}
	os[0].fill(sh, s.Now())
	return os[0], s.detail(ctx, q, sh, os[0])
}

// detail adds to o what it is read one at a time with: each item's SKU
// as catalogued, the terms that apply, its delivery and its windows, and
// the notices sent.
func (s *Service) detail(ctx context.Context, q database.Querier, sh *Shop, o *Order) error {
	codes := make([]string, 0, len(o.Items))
	for _, it := range o.Items {
		if !slices.Contains(codes, it.SKU) {
			codes = append(codes, it.SKU)
		}
	}
	skus, err := skuDetails(ctx, q, sh, codes)
	if err != nil {
		return err
	}
	now := s.Now()
	for i := range o.Items {
		it := &o.Items[i]
		terms := Resolve(sh.Terms)
		if d, ok := skus[it.SKU]; ok {
			it.Detail, terms = d, *d.Effective
		}
		it.Terms, it.DeliveredAt = &terms, o.itemDelivery(*it)
		it.Windows = Windows(terms, o.OrderedAt, it.DeliveredAt, sh.Location(), now)
	}
	o.Notices, err = notices(ctx, q, o.ID)
	return err
}

// ForTicket finds the order a ticket names by number, across shops: the
// one of the ticket's customer when several shops use the number, else
// the newest. It is NotFound when no shop has it.
func (s *Service) ForTicket(ctx context.Context, number, customerID string) (*Order, error) {
	if err := requireRead(ctx); err != nil {
		return nil, err
	}
	number = NormalizeNumber(number)
	if number == "" {
		return nil, kefu.Errorf(kefu.NotFound, "the ticket names no order")
	}
	var id, code string
	err := s.DB.Read.QueryRowContext(ctx, `SELECT CAST(o.id AS text), s.code FROM orders o JOIN shops s ON s.id = o.shop_id
		WHERE o.number = $1 ORDER BY CASE WHEN CAST(o.customer_id AS text) = $2 THEN 0 ELSE 1 END, o.ordered_at DESC LIMIT 1`,
		number, customerID).Scan(&id, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no shop has an order %s", number)
	}
	if err != nil {
		return nil, fmt.Errorf("shop: order of ticket: %w", err)
	}
	sh, err := s.shop(ctx, s.DB.Read, code)
	if err != nil {
		return nil, err
	}
	return s.order(ctx, s.DB.Read, sh, id)
}

// ItemEligibility is Check's answer for one item of an order.
type ItemEligibility struct {
	ItemID string `json:"item_id"`
	SKU    string `json:"sku"`
	Eligibility
}

// Eligibility checks a request of kind (for reason, "" when not known)
// against each item of an order, or only the item whose id or SKU is
// item, as of at (zero: now).
func (s *Service) Eligibility(ctx context.Context, shopCode, idOrNumber string, kind Kind, reason Reason, item string, at time.Time) ([]ItemEligibility, error) {
	var fs kefu.Fields
	if !slices.Contains(Kinds, kind) {
		fs.Add("kind", "must be one of return, exchange, repair, refund_only, complaint")
	}
	if reason != "" && !slices.Contains(Reasons, reason) {
		fs.Add("reason", "must be one of %s", joinReasons())
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	o, err := s.Order(ctx, shopCode, idOrNumber)
	if err != nil {
		return nil, err
	}
	sh, err := s.shop(ctx, s.DB.Read, o.Shop)
	if err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = s.Now()
	}
	out := []ItemEligibility{}
	for _, it := range o.Items {
		if item != "" && it.ID != item && it.SKU != item {
			continue
		}
		e := Check(Request{Kind: kind, Reason: reason, Terms: *it.Terms, OrderedAt: o.OrderedAt, DeliveredAt: it.DeliveredAt, Loc: sh.Location(), Now: at})
		out = append(out, ItemEligibility{ItemID: it.ID, SKU: it.SKU, Eligibility: e})
	}
	if len(out) == 0 {
		return nil, kefu.Fieldf("item", "order %s has no item %s", o.Number, item)
	}
	return out, nil
}

// OrderFilter selects orders for a list.
type OrderFilter struct {
	Shop          string // a shop's code; "" lists every shop's
	CustomerID    string
	Status        []OrderStatus
	SKU           string // orders with an item of this SKU
	Number        string // a prefix of the order number
	OrderedAfter  time.Time
	OrderedBefore time.Time
	UpdatedAfter  time.Time
	Overdue       bool // undelivered after their expected date
	Cursor        string
	Limit         int
}

// OrderPage is one page of orders.
type OrderPage struct {
	Orders     []*Order `json:"orders"`
	NextCursor string   `json:"next_cursor" doc:"Pass as cursor for the next page; empty on the last page"`
}

// Orders lists orders, the latest stored first, with items and shipments.
func (s *Service) Orders(ctx context.Context, f OrderFilter) (*OrderPage, error) {
	if err := requireRead(ctx); err != nil {
		return nil, err
	}
	var fs kefu.Fields
	w := newWhere()
	if f.Shop != "" {
		w.add("s.code = ?", f.Shop)
	}
	if f.CustomerID != "" {
		if !kefu.ValidID(f.CustomerID) {
			fs.Add("customer", "is not an id")
		} else {
			w.add("o.customer_id = ?", f.CustomerID)
		}
	}
	if len(f.Status) > 0 {
		ph := make([]string, len(f.Status))
		vals := make([]any, len(f.Status))
		for i, st := range f.Status {
			if !slices.Contains(OrderStatuses, st) {
				fs.Add("status", "%q is not an order status", st)
			}
			ph[i], vals[i] = "?", string(st)
		}
		w.add("o.status IN ("+strings.Join(ph, ", ")+")", vals...)
	}
	if f.SKU != "" {
		w.add("EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.sku_code = ?)", f.SKU)
	}
	if n := NormalizeNumber(f.Number); n != "" {
		w.add("o.number >= ? AND o.number < ?", n, n+"\uffff")
	}
	for _, r := range []struct {
		cond string
		t    time.Time
	}{{"o.ordered_at >= ?", f.OrderedAfter}, {"o.ordered_at < ?", f.OrderedBefore}, {"o.updated_at >= ?", f.UpdatedAfter}} {
		if !r.t.IsZero() {
			w.add(r.cond, r.t.UTC())
		}
	}
	now := s.Now()
	if f.Overdue {
		w.add("o.expected_by <= ? AND o.delivered_at IS NULL AND o.status IN ('pending', 'paid', 'processing', 'shipped')", now)
	}
	limit := w.page(&fs, f.Cursor, f.Limit, "o.id")
	if err := fs.Err(); err != nil {
		return nil, err
	}
	os, err := loadOrders(ctx, s.DB.Read, w.String(), fmt.Sprintf("ORDER BY o.id DESC LIMIT %d", limit+1), w.args...)
	if err != nil {
		return nil, err
	}
	page := &OrderPage{Orders: []*Order{}}
	shops := map[string]*Shop{}
	for _, o := range os {
		sh := shops[o.Shop]
		if sh == nil {
			if sh, err = s.shop(ctx, s.DB.Read, o.Shop); err != nil {
				return nil, err
			}
			shops[o.Shop] = sh
		}
		o.fill(sh, now)
		page.Orders = append(page.Orders, o)
	}
	if len(page.Orders) > limit {
		page.Orders = page.Orders[:limit]
		page.NextCursor = cursorAfter(page.Orders[limit-1].ID)
	}
	return page, nil
}
