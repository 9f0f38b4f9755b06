package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/web"
)

// The ticket page shows the order its order number names beside the
// conversation, in the agent's language: items with SKU and windows,
// shipments with tracking events, notices; a number no shop has is said
// so, and changing the number changes the panel.
func TestOrderPanel(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		var shops *shop.Service
		e := newEnv(t, db, func(d *web.Deps) {
			shops = &shop.Service{DB: db, Now: d.Now, Customers: d.Customers}
			d.Shop = shops
		})
		sys := kefu.WithActor(context.Background(), kefu.System)
		if _, _, err := shops.CreateShop(sys, shop.ShopInput{Code: "tianhe", Name: "天河新盟服饰", Timezone: "Asia/Shanghai", Currency: "CNY"}); err != nil {
			t.Fatal(err)
		}
		zero := 0
		if _, err := shops.CreateProduct(sys, shop.ProductInput{Code: "COAT-1", Name: "羊毛大衣", Supplier: "内蒙古羊绒厂",
			SKUs: []shop.SKUInput{{Code: "COAT-1-M", Size: "M", Colour: "驼色", Price: "1299", Terms: shop.Terms{ReturnDays: &zero}}}}); err != nil {
			t.Fatal(err)
		}
		ordered := time.Now().Add(-72 * time.Hour)
		delivered := time.Now().Add(-24 * time.Hour)
		if _, err := shops.CreateOrder(sys, shop.OrderInput{Number: "SO-5001", Status: shop.Delivered, OrderedAt: ordered, PaymentMethod: "wechat_pay",
			Customer: shop.CustomerRef{Email: "wang@example.com"},
			Items:    []shop.ItemInput{{SKU: "COAT-1-M", Name: "羊毛大衣 驼色 M", Quantity: 1, UnitPrice: "1299"}},
			Shipments: []shop.ShipmentInput{{Carrier: "顺丰速运", TrackingNumber: "SF5001", DeliveredAt: &delivered,
				Events: []shop.TrackingEvent{{At: ordered.Add(time.Hour), Status: "picked_up", Description: "已揽收", Location: "包头"},
					{At: delivered, Status: "delivered", Description: "本人签收", Location: "上海"}}}}}); err != nil {
			t.Fatal(err)
		}
		number := "so-5001"
		if _, err := e.tickets.Update(sys, e.ticket.ID, 0, ticket.Patch{OrderNumber: &number}); err != nil {
			t.Fatal(err)
		}

		// The agent works in Chinese.
		agent := e.signin("li.na@example.com")
		want(t, agent.get("/t/"+e.ticket.Key), 200, `id="order-slot"`, "订单 SO-5001", "已签收", "羊毛大衣 驼色 M", "COAT-1-M · M · 驼色 · 内蒙古羊绒厂",
			"此商品不提供退货。", "换货可申请至", "顺丰速运", "SF5001", "本人签收 · 上海", "已付 1299.00（wechat_pay）")
		// The admin in English, through the panel's own refresh.
		admin := e.signin("admin@example.com")
		want(t, admin.get("/t/"+e.ticket.Key+"/order"), 200, "Order SO-5001", "Returns are not offered for this item.", "Exchanges are open until",
			"picked_up · 已揽收 · 包头")

		// A number no shop has, then none at all.
		number = "SO-404"
		if _, err := e.tickets.Update(sys, e.ticket.ID, 0, ticket.Patch{OrderNumber: &number}); err != nil {
			t.Fatal(err)
		}
		want(t, admin.get("/t/"+e.ticket.Key+"/order"), 200, "Order SO-404", "No shop has sent this order to Kefu yet.")
		number = ""
		if _, err := e.tickets.Update(sys, e.ticket.ID, 0, ticket.Patch{OrderNumber: &number}); err != nil {
			t.Fatal(err)
		}
		if p := admin.get("/t/" + e.ticket.Key + "/order"); strings.TrimSpace(p.body) != "" {
			t.Errorf("a ticket without an order number still shows a panel: %s", p.body)
		}

		// Without a shop service there is no panel at all.
		plain := newEnv(t, databasetest.Open(t, db.Dialect.Name()))
		if p := plain.signin("admin@example.com").get("/t/" + plain.ticket.Key); strings.Contains(p.body, "order-slot") {
			t.Error("an order panel without a shop service")
		}
	})
}
