package shop_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/shop"
)

// goodCSV has what store exports have: a byte-order mark, CRLF line ends,
// quoted cells with commas, Chinese text, local times, a split shipment
// and an order whose lines share a shipment.
const goodCSV = "\ufefforder_number,ordered_at,status,customer_name,customer_email,customer_phone,customer_language,expected_delivery,shipping_address,sku,item_name,quantity,unit_price,carrier,tracking_number,shipment_status,shipped_at,delivered_at\r\n" +
	`SO-9001,2025-04-20 14:20,delivered,王芳,wang.fang@example.cn,+86 138 0013 8000,,2025-04-24,"上海市浦东新区张江路88号, 3楼",DRS-001-M-RED,真丝连衣裙,1,599.00,顺丰速运,SF100,delivered,2025-04-21 09:00,2025-04-23 15:30` + "\r\n" +
	`SO-9001,2025-04-20 14:20,delivered,王芳,wang.fang@example.cn,+86 138 0013 8000,,2025-04-24,"上海市浦东新区张江路88号, 3楼",SOCK-9,棉袜,3,15,中通快递,ZT200,delivered,2025-04-22 10:00,2025-04-25 11:00` + "\r\n" +
	`#so-9002,2025-04-28T09:00:00+08:00,shipped,Olivia Smith,olivia@example.com,,en,2025-05-02,"1 Main St, Springfield",TOP-1-S,T-shirt,2,99.5,SF Express,SF300,in_transit,2025-04-29 08:00,` + "\r\n" +
	`#so-9002,2025-04-28T09:00:00+08:00,shipped,Olivia Smith,olivia@example.com,,en,2025-05-02,"1 Main St, Springfield",TOP-2-M,T-shirt,1,99.5,SF Express,SF300,in_transit,2025-04-29 08:00,` + "\r\n" +
	`SO-9003,2025/04/30 18:05,paid,李娜,,13900001111,zh-CN,,,DRS-001-MTM,量身定制,1,1299,,,,,` + "\r\n"

func TestImport(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		var progress []int
		res, err := e.s.ImportOrders(e.ctx, strings.NewReader(goodCSV), shop.ImportOptions{Notify: true, Batch: 2, Progress: func(n int) { progress = append(progress, n) }})
		if err != nil {
			t.Fatal(err)
		}
		if *res != (shop.ImportResult{Lines: 5, Orders: 3, Created: 3}) || len(progress) != 2 || progress[1] != 3 {
			t.Fatalf("import: %+v, progress %v", *res, progress)
		}
		o, err := e.s.Order(e.ctx, "", "SO-9001")
		if err != nil {
			t.Fatal(err)
		}
		if o.Total != "644.00" || len(o.Shipments) != 2 || o.Items[1].TrackingNumber != "ZT200" || o.ShippingAddress != "上海市浦东新区张江路88号, 3楼" {
			t.Fatalf("SO-9001: %+v", o)
		}
		// Delivered in two parcels: the order when the second arrived, each
		// item when its own did (local times in the shop's zone).
		if !o.DeliveredAt.Equal(cst("2025-04-25 11:00")) || !o.Items[0].DeliveredAt.Equal(cst("2025-04-23 15:30")) {
			t.Errorf("deliveries: order %v, first item %v", o.DeliveredAt, o.Items[0].DeliveredAt)
		}
		if o.Items[0].Windows[0].LastDay != "2025-04-30" || o.Items[1].Windows[0].LastDay != "2025-05-02" {
			t.Errorf("return windows from each parcel's delivery: %+v / %+v", o.Items[0].Windows[0], o.Items[1].Windows[0])
		}
		o2, err := e.s.Order(e.ctx, "", "SO-9002")
		if err != nil || len(o2.Items) != 2 || len(o2.Shipments) != 1 || o2.Total != "298.50" || !o2.OrderedAt.Equal(cst("2025-04-28 09:00")) {
			t.Fatalf("SO-9002: %+v %v", o2, err)
		}
		// History is not confirmed; the order of a week ago neither.
		if mails := outbound(t, e); len(mails) != 0 {
			t.Errorf("an import of past orders mailed %d notices", len(mails))
		}
		c, err := e.customers.Get(e.ctx, o2.CustomerID)
		if err != nil || c.Language != "en" || c.Name != "Olivia Smith" {
			t.Errorf("imported customer: %+v %v", c, err)
		}
		before, _ := audit.List(e.ctx, db.Read, audit.Filter{Entity: "order", Limit: 500})

		// The same file again changes nothing.
		res, err = e.s.ImportOrders(e.ctx, strings.NewReader(goodCSV), shop.ImportOptions{})
		if err != nil || *res != (shop.ImportResult{Lines: 5, Orders: 3, Unchanged: 3}) {
			t.Fatalf("re-import: %+v %v", res, err)
		}
		after, _ := audit.List(e.ctx, db.Read, audit.Filter{Entity: "order", Limit: 500})
		if len(after) != len(before) || len(before) != 3 {
			t.Errorf("audit entries %d → %d", len(before), len(after))
		}
		// One order changed in the store: one update.
		changed := strings.Replace(goodCSV, "SO-9003,2025/04/30 18:05,paid", "SO-9003,2025/04/30 18:05,processing", 1)
		res, err = e.s.ImportOrders(e.ctx, strings.NewReader(changed), shop.ImportOptions{})
		if err != nil || *res != (shop.ImportResult{Lines: 5, Orders: 3, Updated: 1, Unchanged: 2}) {
			t.Fatalf("import of a change: %+v %v", res, err)
		}
	})
}

func TestImportRefusesBadFiles(t *testing.T) {
	const header = "order_number,ordered_at,customer_email,sku,quantity,unit_price,tracking_number,carrier,delivered_at\n"
	const good = "SO-1,2025-05-01 10:00,a@example.cn,A,1,10,,,\n"
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "line 1: the file is empty: it needs a header row and one line per order item"},
		{"unknown column", "order_number,ordered_at,customer_email,sku,quantity,price\n", `line 1, column "price": is not a column of an order import (see docs/shop.md for the columns)`},
		{"missing column", "order_number,customer_email,sku,quantity,unit_price\n", "line 1, column ordered_at: is required in the header"},
		{"no customer column", "order_number,ordered_at,sku,quantity,unit_price\n", "line 1, column customer_email: customer_email or customer_phone is required in the header"},
		{"quantity not a number", header + good + "SO-2,2025-05-01 10:00,b@example.cn,B,two,10,,,\n", `line 3, column quantity: must be a whole number, got "two"`},
		{"quantity zero", header + "SO-2,2025-05-01 10:00,b@example.cn,B,0,10,,,\n", "line 2, column quantity: must be a whole number from 1 to 100000"},
		{"bad price", header + good + "SO-2,2025-05-01 10:00,b@example.cn,B,1,¥10,,,\n", "line 3, column unit_price: must be an amount with at most 2 decimals, such as 399.00"},
		{"bad email", header + "SO-2,2025-05-01 10:00,not-an-address,B,1,10,,,\n", "line 2, column customer_email: is not an email address"},
		{"no customer", header + "SO-2,2025-05-01 10:00,,B,1,10,,,\n", "line 2, column customer_email: needs an id, email or phone"},
		{"bad time", header + "SO-2,May 1st,b@example.cn,B,1,10,,,\n", `line 2, column ordered_at: must be a time such as 2025-05-03 14:20 (the shop's zone) or 2025-05-03T14:20:00+08:00, got "May 1st"`},
		{"too few cells", header + good + "SO-2,2025-05-01 10:00,b@example.cn\n", "line 3: has a different number of columns than the header (9)"},
		{"order split up", header + good + "SO-2,2025-05-01 10:00,b@example.cn,B,1,10,,,\n" + good, "line 4, column order_number: order SO-1 already ended on line 2: keep an order's lines together"},
		{"order columns differ", header + good + "SO-1,2025-05-02 10:00,a@example.cn,B,1,10,,,\n", `line 3, column ordered_at: is "2025-05-02 10:00" here but "2025-05-01 10:00" on line 2 of the same order`},
		{"carrier without tracking", header + "SO-2,2025-05-01 10:00,b@example.cn,B,1,10,,SF,\n", "line 2, column tracking_number: is required with carrier, shipment_status or shipped_at"},
		{"shipment cells differ", header + "SO-2,2025-05-01 10:00,b@example.cn,B,1,10,T1,SF,\nSO-2,2025-05-01 10:00,b@example.cn,C,1,10,T1,ZTO,\n", `line 3, column carrier: is "ZTO" here but "SF" on line 2 for shipment T1`},
		{"not UTF-8", header + "SO-2,2025-05-01 10:00,b@example.cn,\xc1\xac\xd2\xc2,1,10,,,\n", "line 2: is not UTF-8 text: save the file as CSV UTF-8"},
		{"bare quote", header + "SO-2,2025-05-01 10:00,b@example.cn,B\"x,1,10,,,\n", `line 2: bare " in non-quoted-field at character 37`},
		{"several bad lines", header + "SO-2,x,b@example.cn,B,1,10,,,\nSO-3,2025-05-01 10:00,c@example.cn,C,1,-1,,,\nSO-4,2025-05-01 10:00,d@example.cn,D,1,1,,,\n",
			`line 2, column ordered_at: must be a time such as 2025-05-03 14:20 (the shop's zone) or 2025-05-03T14:20:00+08:00, got "x" (and 1 more bad line)`},
	}
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		for _, tc := range tests {
			_, err := e.s.ImportOrders(e.ctx, strings.NewReader(tc.file), shop.ImportOptions{})
			var le *shop.LineError
			if !errors.As(err, &le) || err.Error() != tc.want {
				t.Errorf("%s:\n got %v\nwant %s", tc.name, err, tc.want)
			}
		}
		// Nothing of any refused file was stored, not even its good lines.
		if page, err := e.s.Orders(e.ctx, shop.OrderFilter{}); err != nil || len(page.Orders) != 0 {
			t.Errorf("refused files stored %d orders: %v", len(page.Orders), err)
		}
		if _, err := e.customers.FindByIdentity(e.ctx, "email", "a@example.cn"); err == nil {
			t.Error("a refused file created a customer")
		}
	})
}
