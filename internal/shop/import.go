package shop

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
)

// The CSV format of ImportOrders (docs/shop.md): a header row naming the
// columns, in any order, then one line per order item. Order columns
// repeat on every line of the order; an order's lines are consecutive.
var (
	csvOrderColumns = []string{"order_number", "ordered_at", "status", "currency", "total", "paid", "payment_method",
		"customer_name", "customer_email", "customer_phone", "customer_language", "expected_delivery", "shipping_address", "note"}
	csvItemColumns     = []string{"sku", "item_name", "quantity", "unit_price", "tracking_number"}
	csvShipmentColumns = []string{"carrier", "shipment_status", "shipped_at", "delivered_at"}
	csvRequired        = []string{"order_number", "ordered_at", "sku", "quantity", "unit_price"}
)

// ImportColumns lists every column an import file may have.
func ImportColumns() []string {
	return slices.Concat(csvOrderColumns, csvItemColumns, csvShipmentColumns)
}

// ImportOptions tune ImportOrders.
type ImportOptions struct {
	Shop string // the shop's code; "" for the only one
	// Notify sends the confirmation of orders placed in the last 48 hours
	// and delay notices, as the API does; an import of history sends
	// none either way.
	Notify bool
	// Batch is how many orders each transaction writes (default 500).
	Batch int
	// Progress, when set, is called after each batch with the orders
	// written so far.
	Progress func(orders int)
}

// ImportResult counts what an import did.
type ImportResult struct {
	Lines     int `json:"lines"`
	Orders    int `json:"orders"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// LineError is what is wrong with an import file: the first bad line
// and column, and how many other lines are bad.
type LineError struct {
	Line    int
	Column  string
	Message string
	More    int // other bad lines
}

func (e *LineError) Error() string {
	s := fmt.Sprintf("line %d", e.Line)
	if e.Column != "" {
		s += fmt.Sprintf(", column %s", e.Column)
	}
	s += ": " + e.Message
	switch {
	case e.More == 1:
		s += " (and 1 more bad line)"
	case e.More > 1:
		s += fmt.Sprintf(" (and %d more bad lines)", e.More)
	}
	return s
}

// ImportOrders reads orders from a CSV file and stores them. The whole
// file is checked before anything is written: a file with a bad line is
// refused entirely, with the first problem and a count of the others, and
// changes nothing. A good file is then written in batches, each in its
// own transaction, so a long import never holds the database for long;
// importing the same file again changes nothing, so an import cut short
// (a crash, a full disk) is finished by running it again.
func (s *Service) ImportOrders(ctx context.Context, file io.ReadSeeker, opt ImportOptions) (*ImportResult, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	sh, err := s.shop(ctx, s.DB.Read, opt.Shop)
	if err != nil {
		return nil, err
	}
	res := &ImportResult{}
	var first *LineError
	bad := map[int]bool{}
	err = readOrders(file, sh, func(*doc) error { return nil }, func(le *LineError) {
		if first == nil {
			first = le
		}
		bad[le.Line] = true
	}, res)
	if err != nil {
		return nil, err
	}
	if first != nil {
		first.More = len(bad) - 1
		return nil, first
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	batch := opt.Batch
	if batch <= 0 {
		batch = 500
	}
	// The file is read again while the batches are written: parsing the
	// next batch overlaps writing this one, which holds the database.
	batches := make(chan []*doc, 1)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(batches)
		var docs []*doc
		send := func() bool {
			select {
			case batches <- docs:
				docs = nil
				return true
			case <-stop:
				return false
			}
		}
		var again ImportResult
		var changed error
		err := readOrders(file, sh, func(d *doc) error {
			if docs = append(docs, d); len(docs) >= batch && !send() {
				return context.Canceled
			}
			return nil
		}, func(le *LineError) {
			if changed == nil {
				changed = fmt.Errorf("the file changed during the import: %w", le)
			}
		}, &again)
		if err == nil && changed == nil && len(docs) > 0 {
			send()
		}
		readErr <- errors.Join(err, changed)
	}()
	rv := s.Customers.NewResolver()
	for docs := range batches {
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			out, err := s.write(ctx, tx, sh, docs, opt.Notify, rv)
			if err != nil {
				return err
			}
			for _, o := range out {
				switch o.Result {
				case Created:
					res.Created++
				case Updated:
					res.Updated++
				default:
					res.Unchanged++
				}
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("orders from line %d: %w", docs[0].line, err)
		}
		if opt.Progress != nil {
			opt.Progress(res.Created + res.Updated + res.Unchanged)
		}
	}
	return res, <-readErr
}

// readOrders parses file, calling each with every good order and bad with
// every problem; it returns only errors that stop reading.
func readOrders(file io.Reader, sh *Shop, each func(*doc) error, bad func(*LineError), res *ImportResult) error {
	r := csv.NewReader(file)
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		bad(&LineError{Line: 1, Message: "the file is empty: it needs a header row and one line per order item"})
		return nil
	}
	if err != nil {
		bad(csvError(err, nil))
		return nil
	}
	cols, problem := headerColumns(header)
	if problem != nil {
		bad(problem)
		return nil
	}
	names := make([]string, len(header))
	for name, i := range cols {
		names[i] = name
	}
	var cur *group
	ts := &times{loc: sh.Location()}
	seen := map[string]int{} // order number → its first line
	finish := func() error {
		if cur == nil {
			return nil
		}
		g := cur
		cur = nil
		if g.broken {
			return nil
		}
		d, err := g.in.order(sh)
		if err != nil {
			for _, le := range g.locate(err) {
				bad(le)
			}
			return nil
		}
		d.line = g.lines[0]
		res.Orders++
		return each(d)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bad(csvError(err, names))
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				continue // the line is skipped; the rest can still be checked
			}
			return nil
		}
		line, _ := r.FieldPos(0)
		res.Lines++
		cell := func(name string) string {
			if i, ok := cols[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if !utf8.ValidString(strings.Join(rec, "")) {
			bad(&LineError{Line: line, Message: "is not UTF-8 text: save the file as CSV UTF-8"})
			continue
		}
		number := NormalizeNumber(cell("order_number"))
		if cur == nil || cur.number != number {
			if err := finish(); err != nil {
				return err
			}
			if at, dup := seen[number]; dup && number != "" {
				bad(&LineError{Line: line, Column: "order_number", Message: fmt.Sprintf("order %s already ended on line %d: keep an order's lines together", number, at)})
				cur = &group{number: number, broken: true}
				continue
			}
			seen[number] = line
			cur = newGroup(number, line, cell, ts, bad)
		} else {
			cur.add(line, cell, bad)
		}
	}
	return finish()
}

// csvError turns a parse error of encoding/csv into a LineError.
func csvError(err error, names []string) *LineError {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &LineError{Line: 1, Message: err.Error()}
	}
	le := &LineError{Line: pe.Line, Message: pe.Err.Error()}
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		le.Message = fmt.Sprintf("has a different number of columns than the header (%d)", len(names))
	} else if pe.Column > 0 && names != nil {
		le.Message = fmt.Sprintf("%v at character %d", pe.Err, pe.Column)
	}
	return le
}

// headerColumns maps column names to their index, or says what is wrong
// with the header.
func headerColumns(header []string) (map[string]int, *LineError) {
	cols := map[string]int{}
	known := ImportColumns()
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) // a BOM from spreadsheet exports
		if !slices.Contains(known, name) {
			return nil, &LineError{Line: 1, Column: strconv.Quote(h), Message: "is not a column of an order import (see docs/shop.md for the columns)"}
		}
		if _, dup := cols[name]; dup {
			return nil, &LineError{Line: 1, Column: name, Message: "appears twice in the header"}
		}
		cols[name] = i
	}
	for _, name := range csvRequired {
		if _, ok := cols[name]; !ok {
			return nil, &LineError{Line: 1, Column: name, Message: "is required in the header"}
		}
	}
	_, email := cols["customer_email"]
	_, phone := cols["customer_phone"]
	if !email && !phone {
		return nil, &LineError{Line: 1, Column: "customer_email", Message: "customer_email or customer_phone is required in the header"}
	}
	return cols, nil
}

// group gathers the lines of one order.
type group struct {
	number    string
	in        OrderInput
	lines     []int    // the line of each item
	orderVals []string // csvOrderColumns as the first line gave them
	ships     []shipSeen
	times     *times
	broken    bool
}

// shipSeen is a shipment as the first line naming it gave it.
type shipSeen struct {
	tracking string
	line     int
	vals     [4]string // csvShipmentColumns
}

func newGroup(number string, line int, cell func(string) string, ts *times, bad func(*LineError)) *group {
	g := &group{number: number, orderVals: make([]string, len(csvOrderColumns)), times: ts}
	for i, c := range csvOrderColumns {
		g.orderVals[i] = cell(c)
	}
	in := OrderInput{Number: cell("order_number"), Status: OrderStatus(strings.ToLower(cell("status"))), Currency: strings.ToUpper(cell("currency")),
		Total: cell("total"), Paid: cell("paid"), PaymentMethod: cell("payment_method"), ExpectedDelivery: cell("expected_delivery"),
		ShippingAddress: cell("shipping_address"), Note: cell("note"),
		Customer: CustomerRef{Name: cell("customer_name"), Email: cell("customer_email"), Phone: cell("customer_phone"), Language: cell("customer_language")}}
	var ok bool
	if in.OrderedAt, ok = g.time(line, "ordered_at", cell("ordered_at"), bad); !ok {
		g.broken = true
	}
	g.in = in
	g.add0(line, cell, bad)
	return g
}

// add reads another line of the same order.
func (g *group) add(line int, cell func(string) string, bad func(*LineError)) {
	for i, c := range csvOrderColumns {
		if v := cell(c); v != g.orderVals[i] {
			bad(&LineError{Line: line, Column: c, Message: fmt.Sprintf("is %q here but %q on line %d of the same order", v, g.orderVals[i], g.lines[0])})
			g.broken = true
		}
	}
	g.add0(line, cell, bad)
}

// add0 reads the item and shipment columns of a line.
func (g *group) add0(line int, cell func(string) string, bad func(*LineError)) {
	g.lines = append(g.lines, line)
	it := ItemInput{SKU: cell("sku"), Name: cell("item_name"), UnitPrice: cell("unit_price"), TrackingNumber: cell("tracking_number")}
	if q := cell("quantity"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			bad(&LineError{Line: line, Column: "quantity", Message: fmt.Sprintf("must be a whole number, got %q", q)})
			g.broken = true
		}
		it.Quantity = n
	}
	g.in.Items = append(g.in.Items, it)
	var vals [4]string
	for i, c := range csvShipmentColumns {
		vals[i] = cell(c)
	}
	carrier, status, shipped, delivered := vals[0], vals[1], vals[2], vals[3]
	tn := it.TrackingNumber
	if tn == "" {
		if carrier != "" || status != "" || shipped != "" {
			bad(&LineError{Line: line, Column: "tracking_number", Message: "is required with carrier, shipment_status or shipped_at"})
			g.broken = true
		}
		if delivered != "" {
			if t, ok := g.time(line, "delivered_at", delivered, bad); ok {
				g.in.DeliveredAt = &t
			}
		}
		return
	}
	for _, prev := range g.ships {
		if prev.tracking != tn {
			continue
		}
		for i, c := range csvShipmentColumns {
			if vals[i] != prev.vals[i] {
				bad(&LineError{Line: line, Column: c, Message: fmt.Sprintf("is %q here but %q on line %d for shipment %s", vals[i], prev.vals[i], prev.line, tn)})
				g.broken = true
			}
		}
		return
	}
	g.ships = append(g.ships, shipSeen{tracking: tn, line: line, vals: vals})
	sp := ShipmentInput{Carrier: carrier, TrackingNumber: tn, Status: ShipmentStatus(strings.ToLower(status))}
	if shipped != "" {
		if t, ok := g.time(line, "shipped_at", shipped, bad); ok {
			sp.ShippedAt = &t
		}
	}
	if delivered != "" {
		if t, ok := g.time(line, "delivered_at", delivered, bad); ok {
			sp.DeliveredAt = &t
		}
	}
	g.in.Shipments = append(g.in.Shipments, sp)
}

// timeLayouts are the ways spreadsheets and store exports write times;
// those without a zone are in the shop's.
var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006/01/02 15:04:05",
	"2006/01/02 15:04", "2006/1/2 15:04", "2006-01-02", "2006/01/02", "2006/1/2"}

func (g *group) time(line int, column, v string, bad func(*LineError)) (time.Time, bool) {
	if t, ok := g.times.parse(v); ok {
		return t, true
	}
	if v == "" && column == "ordered_at" {
		bad(&LineError{Line: line, Column: column, Message: "is required"})
	} else {
		bad(&LineError{Line: line, Column: column, Message: fmt.Sprintf("must be a time such as 2025-05-03 14:20 (the shop's zone) or 2025-05-03T14:20:00+08:00, got %q", v)})
	}
	g.broken = true
	return time.Time{}, false
}

// times parses the times of a file, trying first the layout that worked
// last: a file writes all its times one way, and each failed layout costs
// an error value.
type times struct {
	loc  *time.Location // the shop's, for times without a zone
	last string
}

func (ts *times) parse(v string) (time.Time, bool) {
	if ts.last != "" {
		if t, err := time.ParseInLocation(ts.last, v, ts.loc); err == nil {
			return t, true
		}
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, v, ts.loc); err == nil {
			ts.last = layout
			return t, true
		}
	}
	return time.Time{}, false
}

var (
	itemField     = regexp.MustCompile(`^items\[(\d+)\]\.(.+)$`)
	shipmentField = regexp.MustCompile(`^shipments\[(\d+)\]\.(.+)$`)
)

// locate finds the line and column of each field error of the order: the
// column a field of OrderInput was read from, on the line of the item or
// shipment it belongs to.
func (g *group) locate(err error) []*LineError {
	var e *kefu.Error
	if !errors.As(err, &e) {
		return []*LineError{{Line: g.lines[0], Message: err.Error()}}
	}
	var out []*LineError
	for _, f := range e.Fields {
		le := &LineError{Line: g.lines[0], Column: f.Field, Message: f.Message}
		switch m, n := itemField.FindStringSubmatch(f.Field), shipmentField.FindStringSubmatch(f.Field); {
		case m != nil:
			i, _ := strconv.Atoi(m[1])
			le.Line, le.Column = g.lines[min(i, len(g.lines)-1)], m[2]
			if m[2] == "name" {
				le.Column = "item_name"
			}
		case n != nil:
			if i, _ := strconv.Atoi(n[1]); i < len(g.ships) {
				le.Line = g.ships[i].line
			}
			le.Column = n[2]
			if n[2] == "status" {
				le.Column = "shipment_status"
			}
		case f.Field == "number":
			le.Column = "order_number"
		case f.Field == "customer":
			le.Column = "customer_email"
		case f.Field == "items":
			le.Column = "sku"
		case strings.HasPrefix(f.Field, "customer."):
			le.Column = strings.Replace(f.Field, ".", "_", 1)
		}
		out = append(out, le)
	}
	return out
}
