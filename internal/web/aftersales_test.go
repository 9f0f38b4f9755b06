package web_test

import (
	"context"
	"net/url"
	"strings"
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

// The ticket page's after-sales panel opens a case from the linked
// order, shows the step and the actions it allows in the agent's
// language, refuses a step out of order where the agent typed, and takes
// the action; the open cases list, the report and Admin › After-sales
// show what was done.
func TestCasesInTheConsole(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e, cases, shops := casesEnv(t, db, []string{"M"})
		sys := kefu.WithActor(context.Background(), kefu.System)
		agent := e.signin("li.na@example.com") // works in Chinese
		want(t, agent.get("/t/"+e.ticket.Key), 200, `id="ticket-cases"`, `hx-get="/t/`+e.ticket.Key+`/cases"`)
		want(t, agent.get("/t/"+e.ticket.Key+"/cases"), 200, "新建售后单", "订单 SO-5001 的商品", "COAT-1-M", "退货可申请至")

		// Opening without a reason names the field and opens nothing.
		o, err := shops.Order(sys, "", "SO-5001")
		if err != nil {
			t.Fatal(err)
		}
		item := o.Items[0].ID
		form := url.Values{"kind": {"return"}, "reason": {""}, "item": {item}, "qty." + item: {"1"}}
		want(t, agent.post("/t/"+e.ticket.Key+"/cases", form), 422, "新建售后单")
		form.Set("reason", "wrong_size")
		form.Set("description", "纽扣掉了")
		want(t, agent.post("/t/"+e.ticket.Key+"/cases", form), 200, "AS-1001", "待审核", "尺码不合适", "同意", "拒绝")
		list, err := cases.ForTicket(sys, e.ticket.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("cases of the ticket: %v %v", list, err)
		}
		c := list[0]
		// A refund now is out of order: refused in place, naming the step.
		act := func(action string, version int, more ...string) url.Values {
			f := url.Values{"action": {action}, "version": {itoa(version)}}
			for i := 0; i+1 < len(more); i += 2 {
				f.Set(more[i], more[i+1])
			}
			return f
		}
		want(t, agent.post("/cases/"+c.ID+"/act", act("refund", c.Version)), 409, `requested`)
		want(t, agent.post("/cases/"+c.ID+"/act", act("approve", c.Version)), 200, "已同意", "安排退回")
		// Someone else's stale form is refused with the case as it is now.
		want(t, agent.post("/cases/"+c.ID+"/act", act("refuse", c.Version, "rule", "no_evidence")), 409, "其他人刚刚修改了此售后单")

		admin := e.signin("admin@example.com")
		want(t, admin.get("/cases"), 200, "AS-1001", e.ticket.Key, "Approved")
		want(t, admin.get("/cases/sidebar"), 200, "Open cases", `<span class="count">1</span>`, "After-sales report")
		want(t, admin.get("/reports/aftersales?period=week"), 200, "Return rate", "Wrong size or fit", "COAT-1-M", "内蒙古羊绒厂")
		csv := admin.get("/reports/aftersales.csv")
		if csv.StatusCode != 200 || !strings.Contains(csv.body, "COAT-1-M") {
			t.Errorf("CSV export: %d %s", csv.StatusCode, csv.body)
		}
		want(t, agent.get("/reports/aftersales"), 403)

		// Admin › After-sales: a new reason, a refused one, the settings.
		want(t, admin.get("/admin/aftersales"), 200, "quality_defect", "Refusal rules")
		want(t, admin.post("/admin/aftersales/reasons", url.Values{"key": {"Bad Key"}, "name_en": {""}, "position": {"5"}}), 422)
		want(t, admin.post("/admin/aftersales/reasons", url.Values{"key": {"wrong_colour"}, "name_en": {"Wrong colour"}, "name_zh": {"颜色不符"},
			"basis": {"not_as_described"}, "responsible": {"shop"}, "kinds": {"return", "exchange"}, "position": {"45"}}), 200, "Wrong colour")
		want(t, admin.get("/admin/aftersales"), 200, "wrong_colour", "颜色不符")
		st, err := cases.Settings(sys)
		if err != nil {
			t.Fatal(err)
		}
		want(t, admin.post("/admin/aftersales/settings", url.Values{"version": {itoa(st.Version)}, "refund_working_days": {"0"},
			"refund_warn_minutes": {"60"}, "complaint_reply_hours": {"24"}, "complaint_resolution_working_days": {"3"},
			"escalate_after_minutes": {"240"}, "refusal_rules": {"used | Worn items cannot be returned. | 已穿着"}}), 422, "must be 1 to 60")
		want(t, admin.post("/admin/aftersales/settings", url.Values{"version": {itoa(st.Version)}, "refund_working_days": {"5"},
			"refund_warn_minutes": {"60"}, "complaint_reply_hours": {"24"}, "complaint_resolution_working_days": {"3"},
			"escalate_after_minutes": {"240"}, "return_address": {"杭州市西湖区文三路 100 号"},
			"refusal_rules": {"used | Worn items cannot be returned. | 已穿着的商品不能退货"}}), 200, "After-sales settings")
		if st, err = cases.Settings(sys); err != nil || st.RefundWorkingDays != 5 || len(st.RefusalRules) != 1 || st.RefusalRules[0].ExplanationZh != "已穿着的商品不能退货" {
			t.Errorf("settings after saving: %+v %v", st, err)
		}
	})
}

// casesEnv is a console with the shop and after-sales wired in, and its
// ticket linked to order SO-5001: one coat, size M, delivered yesterday.
// The coat comes in sizes.
func casesEnv(t *testing.T, db *database.DB, sizes []string, opts ...func(*web.Deps)) (*env, *aftersales.Service, *shop.Service) {
	t.Helper()
	var cases *aftersales.Service
	var shops *shop.Service
	e := newEnv(t, db, append(opts, func(d *web.Deps) {
		shops = &shop.Service{DB: db, Now: d.Now, Customers: d.Customers}
		cals := &calendar.Service{DB: db, Now: d.Now}
		d.Shop, d.Calendars = shops, cals
		cases = &aftersales.Service{DB: db, Now: d.Now, Tickets: d.Tickets, Shop: shops, Blobs: d.Tickets.Blobs,
			SLA: &sla.Service{DB: db, Now: d.Now, Calendars: cals, Tickets: d.Tickets}}
		d.Aftersales = cases
	})...)
	sys := kefu.WithActor(context.Background(), kefu.System)
	if _, _, err := shops.CreateShop(sys, shop.ShopInput{Code: "tianhe", Name: "天河新盟服饰", Timezone: "Asia/Shanghai", Currency: "CNY"}); err != nil {
		t.Fatal(err)
	}
	skus := make([]shop.SKUInput, len(sizes))
	for i, size := range sizes {
		skus[i] = shop.SKUInput{Code: "COAT-1-" + size, Size: size, Price: "1299"}
	}
	if _, err := shops.CreateProduct(sys, shop.ProductInput{Code: "COAT-1", Name: "羊毛大衣", Supplier: "内蒙古羊绒厂", SKUs: skus}); err != nil {
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
	return e, cases, shops
}
