package shop_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/testclock"
)

// env is a shop service on a fresh store with a mailbox to send notices
// from (nothing leaves: mail waits in the outbound log).
type env struct {
	db        *database.DB
	clock     *testclock.Clock
	ctx       context.Context
	s         *shop.Service
	customers *customer.Service
	out       *email.Outbound
	shop      *shop.Shop
	secret    string
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func newEnv(t testing.TB, db *database.DB) *env {
	t.Helper()
	e := &env{db: db, clock: testclock.New(time.Time{}, 0), ctx: kefu.WithActor(context.Background(), kefu.System)}
	e.clock.Set(cst("2025-05-03 10:00"))
	now := e.clock.Now
	e.customers = &customer.Service{DB: db, Now: now}
	e.out = &email.Outbound{DB: db, Now: now, Jobs: &jobs.Queue{DB: db, Now: now}, Blobs: blob.Dir{Root: t.TempDir()}}
	e.s = &shop.Service{DB: db, Now: now, Customers: e.customers, Mail: mailer(e.out)}
	mb := &email.Mailboxes{DB: db, Now: now}
	if _, err := mb.Create(e.ctx, email.Mailbox{Address: "service@tianhe.example.cn", DisplayName: "天河新盟", IsDefault: true, Enabled: true,
		SMTP: email.SMTPSettings{Host: "127.0.0.1", Port: 2525, Security: "none"}}); err != nil {
		t.Fatal(err)
	}
	sh, secret, err := e.s.CreateShop(e.ctx, shop.ShopInput{Code: "tianhe", Name: "天河新盟服饰", Timezone: "Asia/Shanghai", Currency: "CNY",
		Terms: shop.Terms{ReturnDays: ptr(7), ExchangeDays: ptr(15), RepairDays: ptr(90)}})
	if err != nil {
		t.Fatal(err)
	}
	e.shop, e.secret = sh, secret
	return e
}

// mailer sends notices through the email channel's outbound queue, as
// the composition root wires it.
func mailer(o *email.Outbound) shop.Mailer {
	return func(ctx context.Context, tx *sql.Tx, to, subject, text string) (string, error) {
		return o.NotifyCustomer(ctx, tx, email.CustomerNotice{To: to, Subject: subject, Text: text})
	}
}

func ptr[T any](v T) *T { return &v }

// fields returns the field names of an invalid-input error.
func fields(err error) []string {
	var e *kefu.Error
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func wantFields(t *testing.T, err error, code kefu.Code, want ...string) {
	t.Helper()
	if !kefu.IsCode(err, code) {
		t.Fatalf("got %v, want %s", err, code)
	}
	got := fields(err)
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("no error for %s in %v", f, got)
		}
	}
}

// dress is a product of seed 000's clothing shop whose SKUs have
// different terms: the sale colour is final, the made-to-measure size
// counts from the order and cannot be returned for a change of mind.
func dress() shop.ProductInput {
	return shop.ProductInput{Code: "DRS-001", Name: "真丝连衣裙 Silk dress", Supplier: "杭州丝绸厂", Category: "dresses", Material: "100% 桑蚕丝",
		Terms: shop.Terms{PhotosFor: &[]shop.Reason{shop.Quality, shop.Damaged}},
		SKUs: []shop.SKUInput{
			{Code: "DRS-001-M-RED", Size: "M", Colour: "红", Price: "599", StockQuantity: ptr(12)},
			{Code: "DRS-001-L-RED", Size: "L", Colour: "红", Price: "599.00", StockStatus: shop.LowStock, StockQuantity: ptr(2)},
			{Code: "DRS-001-M-SALE", Size: "M", Colour: "灰 (sale)", Price: "299.5", StockStatus: shop.OutOfStock, Terms: shop.Terms{ReturnDays: ptr(0), ExchangeDays: ptr(7)}},
			{Code: "DRS-001-MTM", Name: "量身定制", Material: "桑蚕丝 + 衬里", Price: "1299", StockStatus: shop.Preorder,
				Terms: shop.Terms{CountFrom: "order", NonReturnable: ptr(true), NonReturnableNote: "定制商品 made to measure", ReturnDays: ptr(30)}},
		}}
}

func TestCatalog(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		p, err := e.s.CreateProduct(e.ctx, dress())
		if err != nil {
			t.Fatal(err)
		}
		if p.Version != 1 || len(p.SKUs) != 4 || p.Shop != "tianhe" {
			t.Fatalf("created %+v", p)
		}
		byCode := map[string]shop.SKU{}
		for _, k := range p.SKUs {
			byCode[k.Code] = k
		}
		red, sale, mtm := byCode["DRS-001-M-RED"], byCode["DRS-001-M-SALE"], byCode["DRS-001-MTM"]
		if red.Price != "599.00" || sale.Price != "299.50" || red.StockStatus != shop.InStock || *byCode["DRS-001-L-RED"].StockQuantity != 2 {
			t.Errorf("prices and stock: %+v %+v", red, sale)
		}
		// Terms: shop 7/15/90, the product asks photos for faults only,
		// each SKU overrides what it states.
		if r := red.Effective; r.ReturnDays != 7 || r.ExchangeDays != 15 || r.RepairDays != 90 || r.CountFrom != shop.FromDelivery ||
			!slices.Equal(r.PhotosFor, []shop.Reason{shop.Quality, shop.Damaged}) {
			t.Errorf("red terms %+v", r)
		}
		if r := sale.Effective; r.ReturnDays != 0 || r.ExchangeDays != 7 {
			t.Errorf("sale terms %+v", r)
		}
		if r := mtm.Effective; r.ReturnDays != 30 || r.CountFrom != shop.FromOrder || !r.NonReturnable || r.NonReturnableNote == "" {
			t.Errorf("made-to-measure terms %+v", r)
		}

		// The same product again changes nothing; a code the shop has is a
		// conflict for a create.
		again, created, err := e.s.UpsertProduct(e.ctx, dress(), 0)
		if err != nil || created || again.Version != 1 {
			t.Fatalf("unchanged upsert: v%d created=%v %v", again.Version, created, err)
		}
		_, err = e.s.CreateProduct(e.ctx, dress())
		wantFields(t, err, kefu.Conflict, "code")

		// Dropping a SKU archives it; the others keep their ids.
		in := dress()
		in.SKUs = slices.Delete(in.SKUs, 2, 3)
		in.SKUs[0].StockStatus = shop.OutOfStock
		p2, created, err := e.s.UpsertProduct(e.ctx, in, 1)
		if err != nil || created || p2.Version != 2 {
			t.Fatalf("upsert: %+v %v %v", p2, created, err)
		}
		if p2.SKUs[0].ID != red.ID || p2.SKUs[0].StockStatus != shop.OutOfStock {
			t.Errorf("kept SKU: %+v", p2.SKUs[0])
		}
		last := p2.SKUs[len(p2.SKUs)-1]
		if last.Code != "DRS-001-M-SALE" || !last.Archived {
			t.Errorf("dropped SKU not archived: %+v", p2.SKUs)
		}
		if k, err := e.s.SKU(e.ctx, "", "DRS-001-M-SALE"); err != nil || !k.Archived || k.Supplier != "杭州丝绸厂" || k.Effective.ReturnDays != 0 {
			t.Errorf("archived SKU lookup: %+v %v", k, err)
		}
		if k, err := e.s.SKU(e.ctx, "tianhe", "DRS-001-MTM"); err != nil || k.Material != "桑蚕丝 + 衬里" || k.Product != "DRS-001" {
			t.Errorf("SKU lookup: %+v %v", k, err)
		}
		if _, err := e.s.SKU(e.ctx, "", "NOPE"); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("unknown SKU: %v", err)
		}

		// A stale version is refused with the current product, and changes
		// nothing.
		in.Name = "stale edit"
		_, _, err = e.s.UpsertProduct(e.ctx, in, 1)
		var ke *kefu.Error
		if !errors.As(err, &ke) || ke.Code != kefu.Stale || ke.Current.(*shop.Product).Version != 2 {
			t.Fatalf("stale upsert: %v", err)
		}
		// A SKU of another product cannot be taken over.
		other := shop.ProductInput{Code: "TOP-1", Name: "T-shirt", SKUs: []shop.SKUInput{{Code: "DRS-001-L-RED", Price: "99"}}}
		_, err = e.s.CreateProduct(e.ctx, other)
		wantFields(t, err, kefu.Conflict, "skus[0].code")
		// Bad input names every field.
		bad := shop.ProductInput{Code: "a/b", SKUs: []shop.SKUInput{{Code: "X", Price: "1.234", StockStatus: "sold"}, {Code: "X", Terms: shop.Terms{ReturnDays: ptr(-1), CountFrom: "payment"}}}}
		_, err = e.s.CreateProduct(e.ctx, bad)
		wantFields(t, err, kefu.Invalid, "code", "name", "skus[0].price", "skus[0].stock_status", "skus[1].code", "skus[1].terms.return_days", "skus[1].terms.count_from")

		// Lists: filters and cursor paging.
		for i, code := range []string{"TOP-1", "TOP-2", "TOP-3"} {
			if _, err := e.s.CreateProduct(e.ctx, shop.ProductInput{Code: code, Name: "T-shirt " + code, Supplier: "义乌针织",
				SKUs: []shop.SKUInput{{Code: code + "-S", Price: "99", StockStatus: []shop.StockStatus{shop.InStock, shop.OutOfStock, shop.InStock}[i]}}}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := e.s.Products(e.ctx, shop.ProductFilter{Supplier: "义乌针织", Limit: 2})
		if err != nil || len(page.Products) != 2 || page.NextCursor == "" || page.Products[0].Code != "TOP-3" {
			t.Fatalf("first page: %+v %v", page, err)
		}
		rest, err := e.s.Products(e.ctx, shop.ProductFilter{Supplier: "义乌针织", Limit: 2, Cursor: page.NextCursor})
		if err != nil || len(rest.Products) != 1 || rest.NextCursor != "" || rest.Products[0].Code != "TOP-1" {
			t.Fatalf("second page: %+v %v", rest, err)
		}
		if found, _ := e.s.Products(e.ctx, shop.ProductFilter{Query: "silk"}); len(found.Products) != 1 {
			t.Errorf("search by name: %+v", found.Products)
		}
		if found, _ := e.s.Products(e.ctx, shop.ProductFilter{StockStatus: shop.OutOfStock}); len(found.Products) != 2 {
			t.Errorf("by stock status: %d", len(found.Products))
		}
		_, err = e.s.Products(e.ctx, shop.ProductFilter{Cursor: "nope", StockStatus: "x"})
		wantFields(t, err, kefu.Invalid, "cursor", "stock_status")

		entries, err := audit.List(e.ctx, db.Read, audit.Filter{Entity: "product", EntityID: p.ID})
		if err != nil || len(entries) != 2 || entries[0].Action != "update" || entries[1].Action != "create" {
			t.Fatalf("audit: %+v %v", entries, err)
		}
		if _, ok := entries[0].Changes["sku DRS-001-M-SALE"]; !ok {
			t.Errorf("the archived SKU is not in the audit entry: %v", entries[0].Changes)
		}

		// Agents read the catalogue but may not change it.
		agent := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAgent})
		if _, err := e.s.Product(agent, "", "DRS-001"); err != nil {
			t.Errorf("agent reads: %v", err)
		}
		if _, err := e.s.Product(agent, "", p.ID); err != nil {
			t.Errorf("agent reads by id: %v", err)
		}
		if _, _, err := e.s.UpsertProduct(agent, dress(), 0); !kefu.IsCode(err, kefu.Forbidden) {
			t.Errorf("agent writes: %v", err)
		}
		if _, err := e.s.Product(context.Background(), "", "DRS-001"); err != nil {
			t.Errorf("nobody in the context is the system: %v", err)
		}
		customerCtx := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorCustomer, ID: kefu.NewID()})
		if _, err := e.s.Product(customerCtx, "", "DRS-001"); !kefu.IsCode(err, kefu.Forbidden) {
			t.Errorf("a customer reads the back office catalogue: %v", err)
		}
	})
}

// order is a paid order for Wang Fang, delivered in one shipment.
func order(number string) shop.OrderInput {
	return shop.OrderInput{Number: number, Status: shop.Paid, PaymentMethod: "alipay", OrderedAt: cst("2025-05-02 20:15"),
		ExpectedDelivery: "2025-05-06", ShippingAddress: "上海市浦东新区张江路88号",
		Customer: shop.CustomerRef{Name: "王芳", Email: "wang.fang@example.cn", Phone: "+86 138 0013 8000"},
		Items: []shop.ItemInput{
			{SKU: "DRS-001-M-RED", Name: "真丝连衣裙 红 M", Quantity: 1, UnitPrice: "599.00"},
			{SKU: "SOCK-9", Name: "棉袜", Quantity: 3, UnitPrice: "15"},
		}}
}

func outbound(t *testing.T, e *env) []*email.Sent {
	t.Helper()
	list, err := e.out.List(e.ctx, "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestOrders(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		if _, err := e.s.CreateProduct(e.ctx, dress()); err != nil {
			t.Fatal(err)
		}
		o, err := e.s.CreateOrder(e.ctx, order("#so-1001"))
		if err != nil {
			t.Fatal(err)
		}
		if o.Number != "SO-1001" || o.Total != "644.00" || o.Paid != "644.00" || o.Currency != "CNY" || o.Version != 1 || len(o.Items) != 2 {
			t.Fatalf("created %+v", o)
		}
		c, err := e.customers.FindByIdentity(e.ctx, "phone", "+86 13800138000")
		if err != nil || c.ID != o.CustomerID || c.Name != "王芳" {
			t.Fatalf("customer found by phone: %+v %v", c, err)
		}
		// The item in the catalogue has its terms; the one not in it gets
		// the shop's defaults, and neither window opens before delivery.
		red, sock := o.Items[0], o.Items[1]
		if red.Detail == nil || red.Detail.Supplier != "杭州丝绸厂" || red.Terms.ReturnDays != 7 || sock.Detail != nil || sock.Terms.ReturnDays != 7 {
			t.Errorf("item terms: %+v / %+v", red, sock)
		}
		if len(red.Windows) != 3 || red.Windows[0].Outcome != shop.NotDelivered {
			t.Errorf("windows before delivery: %+v", red.Windows)
		}
		// A confirmation went out in Chinese (the shop's language; the
		// customer has none) with the expected delivery.
		if len(o.Notices) != 1 || o.Notices[0].Kind != "confirmation" || o.Notices[0].State != "pending" || o.Notices[0].Language != "zh-CN" {
			t.Fatalf("notices: %+v", o.Notices)
		}
		mails := outbound(t, e)
		if len(mails) != 1 || mails[0].To != "wang.fang@example.cn" || mails[0].Subject != "订单 SO-1001 已确认" {
			t.Fatalf("outbound: %+v", mails)
		}

		// Sending the same order again changes nothing at all.
		same, result, err := e.s.UpsertOrder(e.ctx, order("SO-1001"), 0)
		if err != nil || result != shop.Unchanged || same.Version != 1 {
			t.Fatalf("replay: %s v%d %v", result, same.Version, err)
		}
		// A create of a number the shop has is a conflict.
		_, err = e.s.CreateOrder(e.ctx, order("so-1001"))
		wantFields(t, err, kefu.Conflict, "number")

		// Shipped: a shipment with tracking, the expected date moved two
		// days later. The customer hears of the delay; item ids stay.
		in := order("SO-1001")
		in.Status, in.ExpectedDelivery = shop.Shipped, "2025-05-08"
		in.Shipments = []shop.ShipmentInput{{Carrier: "顺丰速运", TrackingNumber: "SF1234567890", ShippedAt: ptr(cst("2025-05-03 09:00")),
			Events: []shop.TrackingEvent{{At: cst("2025-05-03 09:00"), Status: "picked_up", Description: "已揽收", Location: "杭州"}}}}
		e.clock.Set(cst("2025-05-03 12:00"))
		o2, result, err := e.s.UpsertOrder(e.ctx, in, 1)
		if err != nil || result != shop.Updated || o2.Version != 2 {
			t.Fatalf("update: %s %+v %v", result, o2, err)
		}
		if o2.Items[0].ID != red.ID || o2.Items[1].ID != sock.ID {
			t.Errorf("item ids changed: %s %s → %s %s", red.ID, sock.ID, o2.Items[0].ID, o2.Items[1].ID)
		}
		if sp := o2.Shipments; len(sp) != 1 || sp[0].Status != shop.InTransit || len(sp[0].Events) != 1 {
			t.Errorf("shipment: %+v", sp)
		}
		if len(o2.Notices) != 2 || o2.Notices[1].Kind != "delay" || o2.Notices[1].Key != "moved:2025-05-08" {
			t.Fatalf("delay notice: %+v", o2.Notices)
		}
		mails = outbound(t, e)
		if len(mails) != 2 || mails[0].Subject != "订单 SO-1001 预计送达时间有变" {
			t.Fatalf("outbound after the delay: %+v", mails)
		}
		// A stale version is refused with the current order.
		_, _, err = e.s.UpsertOrder(e.ctx, in, 1)
		var ke *kefu.Error
		if !errors.As(err, &ke) || ke.Code != kefu.Stale || ke.Current.(*shop.Order).Version != 2 {
			t.Fatalf("stale: %v", err)
		}

		// The carrier reports delivery: events are added, the shipment and
		// the order are delivered, and the windows open from that day.
		delivered := cst("2025-05-05 15:30")
		e.clock.Set(cst("2025-05-05 16:00"))
		o3, result, err := e.s.UpsertShipment(e.ctx, "", "so-1001", shop.ShipmentInput{TrackingNumber: "SF1234567890", Status: shop.ShipDelivered,
			Events: []shop.TrackingEvent{
				{At: cst("2025-05-03 09:00"), Status: "picked_up", Description: "已揽收", Location: "杭州"}, // repeated: kept once
				{At: cst("2025-05-04 22:10"), Status: "in_transit", Description: "运输中", Location: "上海转运中心"},
				{At: delivered, Status: "delivered", Description: "已签收，本人签收", Location: "上海"},
			}})
		if err != nil || result != shop.Updated {
			t.Fatalf("shipment update: %s %v", result, err)
		}
		if sp := o3.Shipments[0]; sp.Status != shop.ShipDelivered || !sp.DeliveredAt.Equal(delivered) || len(sp.Events) != 3 {
			t.Errorf("delivered shipment: %+v", sp)
		}
		if o3.DeliveredAt == nil || !o3.DeliveredAt.Equal(delivered) || o3.Overdue {
			t.Errorf("order delivery: %v overdue=%v", o3.DeliveredAt, o3.Overdue)
		}
		w := o3.Items[0].Windows[0]
		if w.Kind != shop.Return || !w.Eligible || w.LastDay != "2025-05-12" || w.DaysLeft != 7 {
			t.Errorf("return window: %+v", w)
		}
		_, _, err = e.s.UpsertShipment(e.ctx, "", "SO-1001", shop.ShipmentInput{TrackingNumber: "", Status: "lost"})
		wantFields(t, err, kefu.Invalid, "tracking_number", "status")
		if _, _, err := e.s.UpsertShipment(e.ctx, "", "SO-404", shop.ShipmentInput{TrackingNumber: "X1"}); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("shipment of an unknown order: %v", err)
		}

		// Eligibility on the twelfth (the last day) and after.
		e.clock.Set(cst("2025-05-12 23:00"))
		es, err := e.s.Eligibility(e.ctx, "", "SO-1001", shop.Return, shop.Quality, "DRS-001-M-RED", time.Time{})
		if err != nil || len(es) != 1 || !es[0].Eligible || !es[0].PhotosRequired || es[0].DaysLeft != 0 {
			t.Fatalf("eligibility on the last day: %+v %v", es, err)
		}
		es, err = e.s.Eligibility(e.ctx, "", o.ID, shop.Return, shop.ChangedMind, "", cst("2025-05-13 00:01"))
		if err != nil || len(es) != 2 || es[0].Eligible || es[0].Outcome != shop.Closed {
			t.Fatalf("eligibility after: %+v %v", es, err)
		}
		if !strings.Contains(es[0].Explanation, "this order was delivered on 5 May, so the last day was 12 May") {
			t.Errorf("explanation: %s", es[0].Explanation)
		}
		_, err = e.s.Eligibility(e.ctx, "", "SO-1001", "swap", "bored", "", time.Time{})
		wantFields(t, err, kefu.Invalid, "kind", "reason")

		// Every change is audited.
		entries, err := audit.List(e.ctx, db.Read, audit.Filter{Entity: "order", EntityID: o.ID})
		if err != nil || len(entries) != 3 || entries[2].Action != "create" || entries[1].Changes["expected_delivery"].After != "2025-05-08" {
			t.Fatalf("order audit: %+v %v", entries, err)
		}

		// A ticket's order number finds it; a customer merge takes the
		// order along.
		found, err := e.s.ForTicket(e.ctx, "so-1001", "")
		if err != nil || found.ID != o.ID {
			t.Fatalf("for ticket: %v %v", found, err)
		}
		if _, err := e.s.ForTicket(e.ctx, "SO-9", ""); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("unknown order for a ticket: %v", err)
		}
		other, err := e.customers.Create(e.ctx, customer.NewCustomer{Name: "王芳 (WeChat)"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.customers.Merge(e.ctx, other.ID, o.CustomerID); err != nil {
			t.Fatal(err)
		}
		page, err := e.s.Orders(e.ctx, shop.OrderFilter{CustomerID: other.ID})
		if err != nil || len(page.Orders) != 1 {
			t.Fatalf("orders of the merged customer: %+v %v", page, err)
		}
	})
}

func TestOrderValidation(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		bad := shop.OrderInput{Number: " ", Status: "lost", Currency: "rmb", ExpectedDelivery: "2025-02-30", Total: "1,000",
			Customer: shop.CustomerRef{Email: "not an address", Language: "fr"},
			Items:    []shop.ItemInput{{SKU: "", Quantity: 0, UnitPrice: "abc"}, {SKU: "A", Quantity: 1}},
			Shipments: []shop.ShipmentInput{{TrackingNumber: "T1", Status: "teleported", Events: []shop.TrackingEvent{{Status: ""}}},
				{TrackingNumber: "T1"}}}
		_, err := e.s.CreateOrder(e.ctx, bad)
		wantFields(t, err, kefu.Invalid, "number", "status", "currency", "expected_delivery", "total", "ordered_at", "customer.email",
			"customer.language", "items[0].sku", "items[0].quantity", "items[0].unit_price", "items[1].unit_price",
			"shipments[0].status", "shipments[0].events[0].at", "shipments[0].events[0].status", "shipments[1].tracking_number")
		_, err = e.s.CreateOrder(e.ctx, shop.OrderInput{Number: "X", OrderedAt: cst("2025-05-01 10:00"), Items: []shop.ItemInput{{SKU: "A", Quantity: 1, UnitPrice: "1"}}})
		wantFields(t, err, kefu.Invalid, "customer")
		in := order("SO-2")
		in.Customer = shop.CustomerRef{ID: kefu.NewID()}
		_, err = e.s.CreateOrder(e.ctx, in)
		wantFields(t, err, kefu.Invalid, "customer.id")
		if page, err := e.s.Orders(e.ctx, shop.OrderFilter{}); err != nil || len(page.Orders) != 0 {
			t.Errorf("a refused order was stored: %+v %v", page, err)
		}
		agent := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleSupervisor})
		if _, err := e.s.CreateOrder(agent, order("SO-3")); !kefu.IsCode(err, kefu.Forbidden) {
			t.Errorf("a supervisor writes orders: %v", err)
		}
	})
}

func TestOrderList(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		for i, st := range []shop.OrderStatus{shop.Paid, shop.Shipped, shop.Delivered, shop.Shipped} {
			in := order("SO-" + string(rune('A'+i)))
			in.Status = st
			if st == shop.Delivered {
				in.DeliveredAt = ptr(cst("2025-05-04 10:00"))
			}
			in.Items[1].SKU = "SKU-" + string(rune('A'+i))
			if i == 3 {
				in.ExpectedDelivery = "2025-05-02" // already late
			}
			if _, err := e.s.CreateOrder(e.ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			f    shop.OrderFilter
			want []string
		}{
			{"all, newest first", shop.OrderFilter{}, []string{"SO-D", "SO-C", "SO-B", "SO-A"}},
			{"by status", shop.OrderFilter{Status: []shop.OrderStatus{shop.Shipped, shop.Paid}}, []string{"SO-D", "SO-B", "SO-A"}},
			{"by SKU", shop.OrderFilter{SKU: "SKU-C"}, []string{"SO-C"}},
			{"by number prefix", shop.OrderFilter{Number: "so-b"}, []string{"SO-B"}},
			{"overdue", shop.OrderFilter{Overdue: true}, []string{"SO-D"}},
			{"by shop", shop.OrderFilter{Shop: "tianhe", Limit: 1}, []string{"SO-D"}},
			{"ordered before", shop.OrderFilter{OrderedBefore: cst("2025-05-01 00:00")}, nil},
		} {
			page, err := e.s.Orders(e.ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var got []string
			for _, o := range page.Orders {
				got = append(got, o.Number)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
		page, _ := e.s.Orders(e.ctx, shop.OrderFilter{Limit: 3})
		rest, err := e.s.Orders(e.ctx, shop.OrderFilter{Limit: 3, Cursor: page.NextCursor})
		if err != nil || len(rest.Orders) != 1 || rest.Orders[0].Number != "SO-A" || !page.Orders[0].Overdue {
			t.Errorf("paging: %+v %v", rest, err)
		}
		_, err = e.s.Orders(e.ctx, shop.OrderFilter{Status: []shop.OrderStatus{"lost"}, CustomerID: "x", Limit: 1000})
		wantFields(t, err, kefu.Invalid, "status", "customer", "limit")
	})
}

func TestDelayNotices(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		english, err := e.customers.Create(e.ctx, customer.NewCustomer{Name: "Olivia Smith", Language: "en",
			Identities: []customer.NewIdent{{Kind: "email", Value: "olivia@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		late := order("SO-LATE")
		late.Customer = shop.CustomerRef{ID: english.ID}
		late.ExpectedDelivery = "2025-05-04"
		phoneOnly := order("SO-PHONE")
		phoneOnly.Customer = shop.CustomerRef{Phone: "+86 139 0000 1111"}
		phoneOnly.ExpectedDelivery = "2025-05-04"
		history := order("SO-OLD")
		history.OrderedAt, history.ExpectedDelivery = cst("2025-04-01 10:00"), "2025-04-05"
		onTime := order("SO-ONTIME")
		onTime.ExpectedDelivery = "2025-05-09"
		for _, in := range []shop.OrderInput{late, phoneOnly, history, onTime} {
			if _, err := e.s.CreateOrder(e.ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		// Confirmations: not for an order a month old, nor to a customer
		// without an email address (recorded as skipped).
		if got := len(outbound(t, e)); got != 2 {
			t.Fatalf("%d confirmations mailed, want 2", got)
		}
		po, err := e.s.Order(e.ctx, "", "SO-PHONE")
		if err != nil || len(po.Notices) != 1 || po.Notices[0].State != "skipped" || po.Notices[0].Detail != "no email address" {
			t.Fatalf("phone-only notice: %+v %v", po.Notices, err)
		}
		if n, err := e.s.SweepDelays(e.ctx); err != nil || n != 0 {
			t.Fatalf("nothing is late yet: %d %v", n, err)
		}
		// 4 May has ended in Shanghai (16:00 UTC): two orders are late; the
		// April one was late long before and is left to the agents.
		e.clock.Set(cst("2025-05-05 00:00"))
		if n, err := e.s.SweepDelays(e.ctx); err != nil || n != 2 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if n, err := e.s.SweepDelays(e.ctx); err != nil || n != 0 {
			t.Fatalf("a second sweep: %d %v", n, err)
		}
		mails := outbound(t, e)
		if len(mails) != 3 || mails[0].Subject != "Order SO-LATE is running late" || mails[0].To != "olivia@example.com" {
			t.Fatalf("delay mail: %+v", mails[0])
		}
		lo, _ := e.s.Order(e.ctx, "", "SO-LATE")
		if !lo.Overdue || len(lo.Notices) != 2 || lo.Notices[1].Key != "late:2025-05-04" || lo.Notices[1].Language != "en" {
			t.Fatalf("late order: overdue=%v %+v", lo.Overdue, lo.Notices)
		}
		// Moved later and missed again: one more notice for the move, one
		// for the new date passing.
		late.ExpectedDelivery = "2025-05-07"
		if _, _, err := e.s.UpsertOrder(e.ctx, late, 0); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(cst("2025-05-08 09:00"))
		if n, err := e.s.SweepDelays(e.ctx); err != nil || n != 1 {
			t.Fatalf("sweep after the move: %d %v", n, err)
		}
		lo, _ = e.s.Order(e.ctx, "", "SO-LATE")
		var keys []string
		for _, n := range lo.Notices {
			keys = append(keys, n.Kind+":"+n.Key)
		}
		if !slices.Equal(keys, []string{"confirmation:", "delay:late:2025-05-04", "delay:moved:2025-05-07", "delay:late:2025-05-07"}) {
			t.Errorf("notices of the late order: %v", keys)
		}
		// A delivered or cancelled order is never late.
		oo, _ := e.s.Order(e.ctx, "", "SO-ONTIME")
		onTime.DeliveredAt = ptr(cst("2025-05-08 08:00"))
		if _, _, err := e.s.UpsertOrder(e.ctx, onTime, oo.Version); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(cst("2025-05-10 09:00"))
		if n, err := e.s.SweepDelays(e.ctx); err != nil || n != 0 {
			t.Errorf("a delivered order was swept: %d %v", n, err)
		}
	})
}
