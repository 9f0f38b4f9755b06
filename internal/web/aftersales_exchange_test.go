package web_test

import (
	"context"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/shop"
)

// Once an exchange's replacement ships, the order panel beside the ticket
// shows it as a line of its own at no charge and its parcel, both marked
// as the replacement for the case; the case says so, and the customer
// reads in the portal what is on its way.
func TestReplacementOnTheOrder(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e, cases, _ := casesEnv(t, db, []string{"M", "L"}, withPortal(db))
		sys := kefu.WithActor(context.Background(), kefu.System)
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
