package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/web"
)

// Once an exchange's replacement ships, the order panel beside the ticket
// shows it as a line of its own at no charge and its parcel, both marked
// as the replacement for the case; the case says so, and the customer
// reads in the portal what is on its way.
func TestReplacementOnTheOrder(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		var cases *aftersales.Service
		var shops *shop.Service
		e := newEnv(t, db, withPortal(db), func(d *web.Deps) {
			shops = &shop.Service{DB: db, Now: d.Now, Customers: d.Customers}
			cals := &calendar.Service{DB: db, Now: d.Now}
			d.Shop, d.Calendars = shops, cals
			cases = &aftersales.Service{DB: db, Now: d.Now, Tickets: d.Tickets, Shop: shops, Blobs: d.Tickets.Blobs,
				SLA: &sla.Service{DB: db, Now: d.Now, Calendars: cals, Tickets: d.Tickets}}
			d.Aftersales = cases
		})
		sys := kefu.WithActor(context.Background(), kefu.System)
		if _, _, err := shops.CreateShop(sys, shop.ShopInput{Code: "tianhe", Name: "天河新盟服饰", Timezone: "Asia/Shanghai", Currency: "CNY"}); err != nil {
			t.Fatal(err)
		}
		if _, err := shops.CreateProduct(sys, shop.ProductInput{Code: "COAT-1", Name: "羊毛大衣", Supplier: "内蒙古羊绒厂",
			SKUs: []shop.SKUInput{{Code: "COAT-1-M", Size: "M", Price: "1299"}, {Code: "COAT-1-L", Size: "L", Price: "1299"}}}); err != nil {
			t.Fatal(err)
		}
		delivered := time.Now().Add(-24 * time.Hour)
		if _, err := shops.CreateOrder(sys, shop.OrderInput{Number: "SO-5001", Status: shop.Delivered, OrderedAt: delivered.Add(-48 * time.Hour),
			DeliveredAt: &delivered, Customer: shop.CustomerRef{Email: "wang@example.com"},
			Items: []shop.ItemInput{{SKU: "COAT-1-M", Name: "羊毛大衣 驼色 M", Quantity: 1, UnitPrice: "1299"}}}); err != nil {
			t.Fatal(err)
		}
		number := "SO-5001"
		if _, err := e.tickets.Update(sys, e.ticket.ID, 0, ticket.Patch{OrderNumber: &number}); err != nil {
			t.Fatal(err)
		}
		c, err := cases.Open(sys, aftersales.OpenInput{Kind: shop.Exchange, TicketID: e.ticket.ID, Reason: "wrong_size",
			Items: []aftersales.ItemInput{{Item: "COAT-1-M", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range []aftersales.ActionInput{
			{Action: aftersales.Approve},
			{Action: aftersales.Receive},
			{Action: aftersales.Inspect},
			{Action: aftersales.ShipExchange, SKU: "COAT-1-L", Carrier: "顺丰速运", TrackingNumber: "SF9001"},
		} {
			if c, err = cases.Act(sys, c.ID, 0, in); err != nil {
				t.Fatalf("%s: %v", in.Action, err)
			}
		}

		agent := e.signin("li.na@example.com") // works in Chinese
		want(t, agent.get("/t/"+e.ticket.Key+"/order"), 200, `data-origin="exchange"`, "羊毛大衣 L", "不收费", "AS-1001 换货补发", "SF9001", "COAT-1-L · L")
		want(t, agent.get("/t/"+e.ticket.Key+"/cases"), 200, "换货 COAT-1-L × 1 已发出：顺丰速运 SF9001。", "已作为不收费的商品行加入订单 SO-5001。")
		admin := e.signin("admin@example.com")
		want(t, admin.get("/t/"+e.ticket.Key+"/order"), 200, "Replacement for AS-1001", "no charge", "CNY 1299.00")

		customer := e.portalSignIn("wang@example.com")
		want(t, customer.get("/portal/t/"+e.ticket.Key), 200, "羊毛大衣 L (COAT-1-L) × 1", "顺丰速运 SF9001")
	})
}
