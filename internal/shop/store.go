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
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
)

const orderColumns = `CAST(o.id AS text), s.code, o.number, CAST(o.customer_id AS text), o.status, o.currency, o.total_minor,
	o.paid_minor, o.payment_method, o.ordered_at, o.expected_delivery, o.delivered_at, o.shipping_address, o.note, o.delay_noticed,
	o.version, o.created_at, o.updated_at`

func scanOrder(row interface{ Scan(...any) error }) (*Order, error) {
	var o Order
	var delivered sql.NullTime
	err := row.Scan(&o.ID, &o.Shop, &o.Number, &o.CustomerID, &o.Status, &o.Currency, &o.total, &o.paid, &o.PaymentMethod,
		&o.OrderedAt, &o.ExpectedDelivery, &delivered, &o.ShippingAddress, &o.Note, &o.delayNoticed, &o.Version, &o.CreatedAt, &o.UpdatedAt)
	if err != nil {
		return nil, err
	}
	o.OrderedAt, o.CreatedAt, o.UpdatedAt = o.OrderedAt.UTC(), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	o.DeliveredAt = database.TimePtr(delivered)
	o.Items, o.Shipments = []Item{}, []Shipment{}
	return &o, nil
}

// loadOrders reads the orders matching cond (on aliases o and s, with
// args) in the order given by tail, with their items, shipments and
// tracking events.
func loadOrders(ctx context.Context, q database.Querier, cond, tail string, args ...any) ([]*Order, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN shops s ON s.id = o.shop_id WHERE `+cond+` `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("shop: orders: %w", err)
	}
	var out []*Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("shop: orders: %w", err)
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, loadLines(ctx, q, out)
}

// loadLines fills the items, shipments and events of os.
func loadLines(ctx context.Context, q database.Querier, os []*Order) error {
	if len(os) == 0 {
		return nil
	}
	byID := make(map[string]*Order, len(os))
	ids := make([]string, len(os))
	for i, o := range os {
		byID[o.ID], ids[i] = o, o.ID
	}
	err := database.InChunks(ids, func(args []any, in string) error {
		rows, err := q.QueryContext(ctx, `SELECT CAST(order_id AS text), CAST(id AS text), sku_code, name, quantity, unit_price_minor,
			tracking_number, origin, case_id, case_key FROM order_items WHERE order_id IN (`+in+`) ORDER BY order_id, position`, args...)
		if err != nil {
			return fmt.Errorf("shop: items: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var oid string
			var it Item
			if err := rows.Scan(&oid, &it.ID, &it.SKU, &it.Name, &it.Quantity, &it.price, &it.TrackingNumber, &it.Origin, &it.CaseID, &it.CaseKey); err != nil {
				return err
			}
			byID[oid].Items = append(byID[oid].Items, it)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	type ref struct {
		o *Order
		i int
	}
	shipments := map[string]ref{}
	var sids []string
	err = database.InChunks(ids, func(args []any, in string) error {
		rows, err := q.QueryContext(ctx, `SELECT CAST(order_id AS text), CAST(id AS text), carrier, tracking_number, status, shipped_at,
			delivered_at, case_id, case_key FROM shipments WHERE order_id IN (`+in+`) ORDER BY order_id, tracking_number`, args...)
		if err != nil {
			return fmt.Errorf("shop: shipments: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var oid string
			var sp Shipment
			var shipped, delivered sql.NullTime
			if err := rows.Scan(&oid, &sp.ID, &sp.Carrier, &sp.TrackingNumber, &sp.Status, &shipped, &delivered, &sp.CaseID, &sp.CaseKey); err != nil {
				return err
			}
			sp.ShippedAt, sp.DeliveredAt, sp.Events = database.TimePtr(shipped), database.TimePtr(delivered), []TrackingEvent{}
			o := byID[oid]
			o.Shipments = append(o.Shipments, sp)
			shipments[sp.ID] = ref{o, len(o.Shipments) - 1}
			sids = append(sids, sp.ID)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	return database.InChunks(sids, func(args []any, in string) error {
		rows, err := q.QueryContext(ctx, `SELECT CAST(shipment_id AS text), at, status, description, location FROM shipment_events
			WHERE shipment_id IN (`+in+`) ORDER BY shipment_id, at, status`, args...)
		if err != nil {
			return fmt.Errorf("shop: tracking events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var sid string
			var ev TrackingEvent
			if err := rows.Scan(&sid, &ev.At, &ev.Status, &ev.Description, &ev.Location); err != nil {
				return err
			}
			ev.At = ev.At.UTC()
			r := shipments[sid]
			r.o.Shipments[r.i].Events = append(r.o.Shipments[r.i].Events, ev)
		}
		return rows.Err()
	})
}

// Outcome says what an upsert did with one order.
type Outcome struct {
	ID      string `json:"id"`
	Number  string `json:"number"`
	Result  string `json:"result" enum:"created,updated,unchanged"`
	Version int    `json:"version"`
}

// Results of writing an order.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// confirmWithin is how recent an order must be for Kefu to confirm it:
// orders that arrive later (history, a first import) were confirmed by the
// shop long ago.
const confirmWithin = 48 * time.Hour

// writer holds the rows of one write, inserted together at the end.
type writer struct {
	orders, items, shipments, events *database.BulkInsert
	entries                          []audit.Entry
}

func newWriter(d database.Dialect) *writer {
	return &writer{
		orders: database.NewBulkInsert(d, `orders (id, shop_id, number, customer_id, status, currency, total_minor, paid_minor, payment_method,
			ordered_at, expected_delivery, expected_by, delivered_at, shipping_address, note, created_at, updated_at)`, 17),
		items: database.NewBulkInsert(d, `order_items (id, order_id, position, sku_code, name, quantity, unit_price_minor, tracking_number,
			origin, case_id, case_key)`, 11),
		shipments: database.NewBulkInsert(d, `shipments (id, order_id, carrier, tracking_number, status, shipped_at, delivered_at, case_id, case_key,
			created_at, updated_at)`, 11),
		events: database.NewBulkInsert(d, `shipment_events (shipment_id, at, status, description, location)`, 5).
			OnConflict("ON CONFLICT (shipment_id, at, status) DO NOTHING"),
	}
}

// write stores docs, all of shop sh, in tx: new orders with multi-row
// inserts, changed ones updated in place, unchanged ones left alone (so
// feeding the same data twice changes nothing). With notify, the
// customers of new and delayed orders are told.
//
// rv, when not nil, resolves the customers, remembering them from batch
// to batch.
func (s *Service) write(ctx context.Context, tx *sql.Tx, sh *Shop, docs []*doc, notify bool, rv *customer.Resolver) ([]Outcome, error) {
	now := s.Now()
	numbers := make([]string, len(docs))
	given := make(map[string]bool, len(docs))
	for i, d := range docs {
		if given[d.o.Number] {
			return nil, kefu.Fieldf("number", "order %s is given twice", d.o.Number)
		}
		numbers[i], given[d.o.Number] = d.o.Number, true
	}
	existing := map[string]*Order{}
	err := database.InChunks(numbers, func(args []any, in string) error {
		os, err := loadOrders(ctx, tx, `o.shop_id = $1 AND o.number IN (`+database.Placeholders(2, len(args))+`)`, "", append([]any{sh.ID}, args...)...)
		for _, o := range os {
			existing[o.Number] = o
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	refs := make([]customer.Ref, len(docs))
	for i, d := range docs {
		cur := existing[d.o.Number]
		switch {
		case cur != nil && d.createOnly:
			return nil, &kefu.Error{Code: kefu.Conflict, Message: "order exists", Fields: []kefu.FieldError{{Field: "number",
				Message: fmt.Sprintf("order %s exists already; PUT /orders/%s changes it", d.o.Number, d.o.Number)}}}
		case d.ifVersion != 0 && (cur == nil || cur.Version != d.ifVersion):
			e := &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("order %s is not at version %d", d.o.Number, d.ifVersion)}
			if cur != nil {
				cur.fill(sh, now)
				e.Message, e.Current = fmt.Sprintf("order %s changed since version %d; it is now version %d", cur.Number, d.ifVersion, cur.Version), cur
			}
			return nil, e
		}
		refs[i] = d.ref
	}
	if rv == nil {
		rv = s.Customers.NewResolver()
	}
	ids, err := rv.Resolve(ctx, tx, refs)
	if err != nil {
		return nil, customerFieldErr(err, docs)
	}
	w := newWriter(s.DB.Dialect)
	out := make([]Outcome, len(docs))
	type notice struct {
		o         *Order
		kind, key string
		was       string
	}
	var notices []notice
	for i, d := range docs {
		cur := existing[d.o.Number]
		m := merge(cur, d.o, now)
		m.CustomerID = ids[i]
		out[i] = Outcome{Number: m.Number}
		if cur != nil && same(cur, m) {
			out[i].ID, out[i].Result, out[i].Version = cur.ID, Unchanged, cur.Version
			continue
		}
		if cur == nil {
			m.ID, m.Version, m.CreatedAt = kefu.NewID(), 1, now
			w.insertOrder(sh, m, now)
			out[i].ID, out[i].Result, out[i].Version = m.ID, Created, 1
			if notify && sh.NotifyConfirmation && m.Status.underway() && m.DeliveredAt == nil && now.Sub(m.OrderedAt) < confirmWithin {
				notices = append(notices, notice{o: m, kind: "confirmation"})
			}
			continue
		}
		if err := w.updateOrder(ctx, tx, sh, cur, m, now); err != nil {
			return nil, err
		}
		m.Version = cur.Version + 1
		out[i].ID, out[i].Result, out[i].Version = m.ID, Updated, m.Version
		if notify && sh.NotifyDelay && cur.ExpectedDelivery != "" && m.ExpectedDelivery > cur.ExpectedDelivery && m.DeliveredAt == nil && m.Status.underway() {
			notices = append(notices, notice{o: m, kind: "delay", key: "moved:" + m.ExpectedDelivery, was: cur.ExpectedDelivery})
		}
	}
	if err := w.orders.Exec(ctx, tx); err != nil {
		if s.DB.Dialect.IsUniqueViolation(err) {
			// Another writer stored one of these numbers since we looked.
			return nil, kefu.Errorf(kefu.Conflict, "an order in this batch was stored by another request meanwhile; send it again")
		}
		return nil, fmt.Errorf("shop: write orders: %w", err)
	}
	// Notices go before the bulk of the rows: on SQLite every statement
	// of a transaction costs more the more it has written so far, and a
	// notice is a dozen statements.
	for _, n := range notices {
		if err := s.notify(ctx, tx, sh, n.o, n.kind, n.key, n.was); err != nil {
			return nil, err
		}
	}
	if err := database.ExecBulk(ctx, tx, w.items, w.shipments, w.events); err != nil {
		return nil, fmt.Errorf("shop: write orders: %w", err)
	}
	if err := audit.RecordAll(ctx, tx, s.DB.Dialect, now, w.entries); err != nil {
		return nil, err
	}
	return out, nil
}

// customerFieldErr names the order whose customer could not be resolved.
func customerFieldErr(err error, docs []*doc) error {
	var e *kefu.Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Fields = nil
	for _, f := range e.Fields {
		var i int
		var rest string
		if n, _ := fmt.Sscanf(f.Field, "refs[%d]%s", &i, &rest); n >= 1 && i < len(docs) {
			f.Field = "customer" + rest
			if len(docs) > 1 {
				f.Message = fmt.Sprintf("order %s: %s", docs[i].o.Number, f.Message)
			}
		}
		c.Fields = append(c.Fields, f)
	}
	return &c
}

func (w *writer) insertOrder(sh *Shop, m *Order, now time.Time) {
	w.orders.Add(m.ID, sh.ID, m.Number, m.CustomerID, string(m.Status), m.Currency, m.total, m.paid, m.PaymentMethod, m.OrderedAt,
		m.ExpectedDelivery, nullTime(expectedBy(m.ExpectedDelivery, sh.Location())), nullTime(m.DeliveredAt), m.ShippingAddress, m.Note, now, now)
	for i := range m.Items {
		w.insertItem(m, i)
	}
	for i := range m.Shipments {
		w.insertShipment(m, i, now)
	}
	// A new order's entry names it; its contents are the order itself.
	// Later entries record every field that changes.
	changes := map[string]audit.Change{}
	audit.Diff(changes, "number", nil, m.Number)
	audit.Diff(changes, "status", nil, string(m.Status))
	audit.Diff(changes, "customer_id", nil, m.CustomerID)
	audit.Diff(changes, "total", nil, m.Currency+" "+formatMoney(m.total, m.Currency))
	w.entries = append(w.entries, audit.Entry{Action: "create", Entity: "order", EntityID: m.ID, CustomerID: m.CustomerID, Changes: changes})
}

func (w *writer) insertItem(m *Order, i int) {
	it := &m.Items[i]
	if it.ID == "" {
		it.ID = kefu.NewID()
	}
	w.items.Add(it.ID, m.ID, i, it.SKU, it.Name, it.Quantity, it.price, it.TrackingNumber, it.Origin, it.CaseID, it.CaseKey)
}

func (w *writer) insertShipment(m *Order, i int, now time.Time) {
	sp := &m.Shipments[i]
	sp.ID = kefu.NewID()
	w.shipments.Add(sp.ID, m.ID, sp.Carrier, sp.TrackingNumber, string(sp.Status), nullTime(sp.ShippedAt), nullTime(sp.DeliveredAt), sp.CaseID,
		sp.CaseKey, now, now)
	for _, ev := range sp.Events {
		w.events.Add(sp.ID, ev.At, ev.Status, ev.Description, ev.Location)
	}
}

// updateOrder writes m over cur: the order row, items by id (kept,
// changed, added, removed), shipments (changed or added) and new events.
func (w *writer) updateOrder(ctx context.Context, tx *sql.Tx, sh *Shop, cur, m *Order, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE orders SET customer_id = $2, status = $3, currency = $4, total_minor = $5, paid_minor = $6,
		payment_method = $7, ordered_at = $8, expected_delivery = $9, expected_by = $10, delivered_at = $11, shipping_address = $12,
		note = $13, version = version + 1, updated_at = $14 WHERE id = $1`,
		cur.ID, m.CustomerID, string(m.Status), m.Currency, m.total, m.paid, m.PaymentMethod, m.OrderedAt, m.ExpectedDelivery,
		nullTime(expectedBy(m.ExpectedDelivery, sh.Location())), nullTime(m.DeliveredAt), m.ShippingAddress, m.Note, now)
	if err != nil {
		return fmt.Errorf("shop: update order: %w", err)
	}
	kept := map[string]bool{}
	for i, it := range m.Items {
		if it.ID == "" {
			w.insertItem(m, i)
			continue
		}
		kept[it.ID] = true
		if _, err := tx.ExecContext(ctx, `UPDATE order_items SET position = $2, name = $3, quantity = $4, unit_price_minor = $5,
			tracking_number = $6, origin = $7, case_id = $8, case_key = $9 WHERE id = $1`, it.ID, i, it.Name, it.Quantity, it.price,
			it.TrackingNumber, it.Origin, it.CaseID, it.CaseKey); err != nil {
			return fmt.Errorf("shop: update item: %w", err)
		}
	}
	for _, it := range cur.Items {
		if !kept[it.ID] {
			if _, err := tx.ExecContext(ctx, `DELETE FROM order_items WHERE id = $1`, it.ID); err != nil {
				return fmt.Errorf("shop: remove item: %w", err)
			}
		}
	}
	for i, sp := range m.Shipments {
		if sp.ID == "" {
			w.insertShipment(m, i, now)
			continue
		}
		old := cur.Shipments[slices.IndexFunc(cur.Shipments, func(o Shipment) bool { return o.ID == sp.ID })]
		if old.Carrier != sp.Carrier || old.Status != sp.Status || !sameTime(old.ShippedAt, sp.ShippedAt) || !sameTime(old.DeliveredAt, sp.DeliveredAt) ||
			old.CaseID != sp.CaseID {
			if _, err := tx.ExecContext(ctx, `UPDATE shipments SET carrier = $2, status = $3, shipped_at = $4, delivered_at = $5, case_id = $6,
				case_key = $7, updated_at = $8 WHERE id = $1`, sp.ID, sp.Carrier, string(sp.Status), nullTime(sp.ShippedAt), nullTime(sp.DeliveredAt),
				sp.CaseID, sp.CaseKey, now); err != nil {
				return fmt.Errorf("shop: update shipment: %w", err)
			}
		}
		for _, ev := range sp.Events {
			if !slices.ContainsFunc(old.Events, func(e TrackingEvent) bool { return e.At.Equal(ev.At) && e.Status == ev.Status }) {
				w.events.Add(sp.ID, ev.At, ev.Status, ev.Description, ev.Location)
			}
		}
	}
	changes := map[string]audit.Change{}
	audit.Diff(changes, "status", string(cur.Status), string(m.Status))
	audit.Diff(changes, "customer_id", cur.CustomerID, m.CustomerID)
	audit.Diff(changes, "total", cur.Currency+" "+formatMoney(cur.total, cur.Currency), m.Currency+" "+formatMoney(m.total, m.Currency))
	audit.Diff(changes, "paid", formatMoney(cur.paid, cur.Currency), formatMoney(m.paid, m.Currency))
	audit.Diff(changes, "payment_method", cur.PaymentMethod, m.PaymentMethod)
	audit.Diff(changes, "ordered_at", cur.OrderedAt, m.OrderedAt)
	audit.Diff(changes, "expected_delivery", cur.ExpectedDelivery, m.ExpectedDelivery)
	audit.Diff(changes, "delivered_at", cur.DeliveredAt, m.DeliveredAt)
	audit.Diff(changes, "shipping_address", cur.ShippingAddress, m.ShippingAddress)
	audit.Diff(changes, "note", cur.Note, m.Note)
	audit.Diff(changes, "items", itemSummary(cur), itemSummary(m))
	audit.Diff(changes, "shipments", shipmentSummary(cur.Shipments), shipmentSummary(m.Shipments))
	w.entries = append(w.entries, audit.Entry{Action: "update", Entity: "order", EntityID: cur.ID, CustomerID: m.CustomerID, Changes: changes})
	return nil
}

// itemSummary is the items as the audit trail shows them.
func itemSummary(o *Order) []string {
	out := make([]string, len(o.Items))
	for i, it := range o.Items {
		out[i] = fmt.Sprintf("%s ×%d @ %s", it.SKU, it.Quantity, formatMoney(it.price, o.Currency))
		if it.Origin != OriginStore {
			out[i] += " (replacement for " + it.CaseKey + ")"
		}
	}
	return out
}

// shipmentSummary is the shipments as the audit trail shows them.
func shipmentSummary(ss []Shipment) []string {
	out := make([]string, len(ss))
	for i, sp := range ss {
		out[i] = strings.TrimSpace(fmt.Sprintf("%s %s %s, %d events", sp.Carrier, sp.TrackingNumber, sp.Status, len(sp.Events)))
		if sp.CaseKey != "" {
			out[i] += " (replacement for " + sp.CaseKey + ")"
		}
	}
	return out
}
