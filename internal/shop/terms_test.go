package shop

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

var shanghai = loadLocation("Asia/Shanghai")

func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCheck(t *testing.T) {
	seven := Effective{ReturnDays: 7, ExchangeDays: 15, RepairDays: 90, CountFrom: FromDelivery, PhotosFor: []Reason{Quality, Damaged}}
	hygiene := seven
	hygiene.NonReturnable, hygiene.NonReturnableNote = true, "贴身衣物"
	fromOrder := seven
	fromOrder.CountFrom = FromOrder
	noRepair := seven
	noRepair.RepairDays = 0
	ordered := cst("2025-04-29 20:00")
	// 01:30 on 3 May in Shanghai is still 2 May in UTC: the window counts
	// from the shop's day.
	delivered := cst("2025-05-03 01:30")
	tests := []struct {
		name        string
		kind        Kind
		reason      Reason
		terms       Effective
		delivered   *time.Time
		now         time.Time
		eligible    bool
		outcome     string
		lastDay     string
		daysLeft    int
		photos      bool
		explanation string // a part of the English explanation
		zh          string // a part of the Chinese one
	}{
		{"return on the day of delivery", Return, "", seven, &delivered, cst("2025-05-03 09:00"), true, Open, "2025-05-10", 7, false,
			"Returns are open until 10 May, 7 days after delivery (3 May); 7 days left.", "退货可申请至5月10日"},
		{"return on the last day, a minute before midnight", Return, ChangedMind, seven, &delivered, cst("2025-05-10 23:59"), true, Open, "2025-05-10", 0, false,
			"today is the last day", "今天是最后一天"},
		{"return at midnight after the last day", Return, ChangedMind, seven, &delivered, cst("2025-05-11 00:00"), false, Closed, "2025-05-10", 0, false,
			"Returns close 7 days after delivery; this order was delivered on 3 May, so the last day was 10 May.", "退货须在签收后7天内申请；本订单于5月3日签收，最后一天是5月10日。"},
		{"midnight UTC is still the last day in Shanghai's evening", Return, "", seven, &delivered, time.Date(2025, 5, 10, 15, 59, 0, 0, time.UTC), true, Open, "2025-05-10", 0, false,
			"today is the last day", ""},
		{"exchange has its own window", Exchange, SizeFit, seven, &delivered, cst("2025-05-18 10:00"), true, Open, "2025-05-18", 0, false,
			"Exchanges are open until 18 May", "换货可申请至5月18日"},
		{"not delivered, counted from delivery", Return, "", seven, nil, cst("2025-05-01 10:00"), false, NotDelivered, "", 0, false,
			"Returns count from delivery, and this order has not been delivered yet.", "退货自签收之日起计算，本订单尚未签收。"},
		{"counted from the order date, not delivered", Return, "", fromOrder, nil, cst("2025-05-06 23:00"), true, Open, "2025-05-06", 0, false,
			"Returns are open until 6 May, 7 days after the order date (29 April); today is the last day.", "下单（4月29日）后7天内"},
		{"counted from the order date, closed although delivered late", Return, "", fromOrder, &delivered, cst("2025-05-07 08:00"), false, Closed, "2025-05-06", 0, false,
			"Returns close 7 days after the order date; this order was placed on 29 April, so the last day was 6 May.", "退货须在下单后7天内申请"},
		{"non-returnable refuses a personal reason", Return, ChangedMind, hygiene, &delivered, cst("2025-05-04 10:00"), false, NonReturnable, "", 0, false,
			"cannot be returned or exchanged for a personal reason (贴身衣物)", "此商品（贴身衣物）不支持因个人原因退换"},
		{"non-returnable refuses an exchange for fit", Exchange, SizeFit, hygiene, &delivered, cst("2025-05-04 10:00"), false, NonReturnable, "", 0, false,
			"personal reason", "个人原因"},
		{"non-returnable accepts a fault, with photos", Return, Quality, hygiene, &delivered, cst("2025-05-04 10:00"), true, Open, "2025-05-10", 6, true,
			"Only for a fault", "请附上问题照片。"},
		{"non-returnable does not touch repairs", Repair, SizeFit, hygiene, &delivered, cst("2025-06-01 10:00"), true, Open, "2025-08-01", 61, false,
			"Repairs under warranty are open until 1 August", "保修维修可申请至8月1日"},
		{"photos only for the listed reasons", Return, SizeFit, seven, &delivered, cst("2025-05-04 10:00"), true, Open, "2025-05-10", 6, false,
			"6 days left", "还剩6天"},
		{"photos for damage", Exchange, Damaged, seven, &delivered, cst("2025-05-04 10:00"), true, Open, "2025-05-18", 14, true,
			"Please attach photos of the problem.", "请附上问题照片。"},
		{"no repairs offered", Repair, Quality, noRepair, &delivered, cst("2025-05-04 10:00"), false, NotOffered, "", 0, false,
			"Repairs under warranty are not offered for this item.", "此商品不提供保修维修。"},
		{"refund only before delivery", RefundOnly, NotReceived, seven, nil, cst("2025-06-30 10:00"), true, Open, "", 0, false,
			"the order has not been delivered yet", "订单尚未签收，可申请仅退款。"},
		{"refund only after delivery follows the return window", RefundOnly, Quality, seven, &delivered, cst("2025-05-12 10:00"), false, Closed, "2025-05-10", 0, false,
			"Refunds without return close 7 days after delivery", "仅退款须在签收后7天内申请"},
		{"complaints at any time", Complaint, "", noRepair, &delivered, cst("2027-01-01 10:00"), true, Open, "", 0, false,
			"Complaints are accepted at any time.", "投诉不受时限限制"},
		{"a year that is not this one is named", Return, "", seven, &delivered, cst("2026-01-05 10:00"), false, Closed, "2025-05-10", 0, false,
			"delivered on 3 May 2025, so the last day was 10 May 2025.", "本订单于2025年5月3日签收"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(Request{Kind: tc.kind, Reason: tc.reason, Terms: tc.terms, OrderedAt: ordered, DeliveredAt: tc.delivered, Loc: shanghai, Now: tc.now})
			if got.Eligible != tc.eligible || got.Outcome != tc.outcome || got.LastDay != tc.lastDay || got.DaysLeft != tc.daysLeft || got.PhotosRequired != tc.photos {
				t.Errorf("got eligible=%v outcome=%s last=%s left=%d photos=%v, want %v %s %s %d %v",
					got.Eligible, got.Outcome, got.LastDay, got.DaysLeft, got.PhotosRequired, tc.eligible, tc.outcome, tc.lastDay, tc.daysLeft, tc.photos)
			}
			if !strings.Contains(got.Explanation, tc.explanation) || !strings.Contains(got.ExplanationZh, tc.zh) {
				t.Errorf("explanations:\n en %q\n zh %q\nwant them to contain %q and %q", got.Explanation, got.ExplanationZh, tc.explanation, tc.zh)
			}
			if got.Explain("en") != got.Explanation || got.Explain("zh-CN") != got.ExplanationZh {
				t.Error("Explain does not pick the language")
			}
		})
	}
}

func TestCheckClosesAtMidnightInTheShopsZone(t *testing.T) {
	delivered := cst("2025-05-03 01:30")
	e := Check(Request{Kind: Return, Terms: DefaultTerms, OrderedAt: delivered, DeliveredAt: &delivered, Loc: shanghai, Now: delivered})
	want := time.Date(2025, 5, 10, 16, 0, 0, 0, time.UTC) // 11 May 00:00 in Shanghai
	if e.ClosesAt == nil || !e.ClosesAt.Equal(want) || e.From != "2025-05-03" {
		t.Fatalf("closes at %v from %s, want %v from 2025-05-03", e.ClosesAt, e.From, want)
	}
	// The same instant in New York is 2 May: the window there starts a day
	// earlier and closes at a different instant.
	ny := loadLocation("America/New_York")
	e = Check(Request{Kind: Return, Terms: DefaultTerms, OrderedAt: delivered, DeliveredAt: &delivered, Loc: ny, Now: delivered})
	if e.From != "2025-05-02" || e.LastDay != "2025-05-09" {
		t.Fatalf("New York window %s–%s, want 2025-05-02–2025-05-09", e.From, e.LastDay)
	}
}

func TestResolve(t *testing.T) {
	shopTerms := Terms{ReturnDays: ptr(7), RepairDays: ptr(30)}
	product := Terms{ExchangeDays: ptr(30), NonReturnable: ptr(true), NonReturnableNote: "定制商品", PhotosFor: &[]Reason{Quality}}
	sku := Terms{ReturnDays: ptr(0), CountFrom: "order", PhotosFor: &[]Reason{}}
	got := Resolve(shopTerms, product, sku)
	want := Effective{ReturnDays: 0, ExchangeDays: 30, RepairDays: 30, CountFrom: FromOrder, NonReturnable: true, NonReturnableNote: "定制商品", PhotosFor: []Reason{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shop → product → SKU (-want +got):\n%s", diff)
	}
	// A SKU lifting the product's restriction drops its note too.
	got = Resolve(shopTerms, product, Terms{NonReturnable: ptr(false)})
	if got.NonReturnable || got.NonReturnableNote != "" || len(got.PhotosFor) != 1 {
		t.Errorf("lifted restriction: %+v", got)
	}
	if d := Resolve(); d.ReturnDays != 7 || d.CountFrom != FromDelivery || len(d.PhotosFor) == 0 {
		t.Errorf("defaults: %+v", d)
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		in, currency string
		minor        int64
		out, problem string
	}{
		{"399", "CNY", 39900, "399.00", ""},
		{"399.5", "CNY", 39950, "399.50", ""},
		{"0.05", "USD", 5, "0.05", ""},
		{"-12.30", "CNY", -1230, "-12.30", ""},
		{"1200", "JPY", 1200, "1200", ""},
		{"12.5", "JPY", 0, "", "must be a whole amount of JPY, such as 1200"},
		{"1.234", "CNY", 0, "", "must be an amount with at most 2 decimals, such as 399.00"},
		{"¥399", "CNY", 0, "", "must be an amount with at most 2 decimals, such as 399.00"},
		{"3.", "CNY", 0, "", "must be an amount with at most 2 decimals, such as 399.00"},
	} {
		n, problem := parseMoney(tc.in, tc.currency)
		if problem != tc.problem || n != tc.minor {
			t.Errorf("parseMoney(%q, %s) = %d %q, want %d %q", tc.in, tc.currency, n, problem, tc.minor, tc.problem)
			continue
		}
		if problem == "" && formatMoney(n, tc.currency) != tc.out {
			t.Errorf("formatMoney(%d, %s) = %q, want %q", n, tc.currency, formatMoney(n, tc.currency), tc.out)
		}
	}
}
