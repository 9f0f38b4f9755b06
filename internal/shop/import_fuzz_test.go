package shop

import (
	"bytes"
	"testing"
)

// FuzzReadOrders feeds arbitrary files to the import's reader: it must
// never panic, every problem must name a line, and every order it accepts
// must hold what an order needs.
func FuzzReadOrders(f *testing.F) {
	f.Add([]byte("order_number,ordered_at,customer_email,sku,quantity,unit_price,tracking_number,carrier,delivered_at\n" +
		"SO-1,2025-05-01 10:00,a@example.cn,A,1,10,T1,SF,2025-05-03\nSO-1,2025-05-01 10:00,a@example.cn,B,2,5.5,T1,SF,2025-05-03\n"))
	f.Add([]byte("\ufefforder_number,ordered_at,customer_phone,sku,quantity,unit_price\r\n\"SO,2\",2025/5/1,+86 138 0013 8000,\"X\"\"Y\",3,1\r\n"))
	f.Add([]byte("order_number,ordered_at,customer_email,sku,quantity,unit_price\nSO-1,x,y,,0,-1\nSO-1\n"))
	sh := &Shop{Code: "fuzz", Timezone: "Asia/Shanghai", Currency: "CNY"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var res ImportResult
		err := readOrders(bytes.NewReader(data), sh, func(d *doc) error {
			if d.o.Number == "" || len(d.o.Items) == 0 || d.o.OrderedAt.IsZero() || d.line < 2 {
				t.Fatalf("accepted an order without number, items, date or line: %+v", d.o)
			}
			return nil
		}, func(le *LineError) {
			if le.Line < 1 || le.Message == "" {
				t.Fatalf("a problem without a line or message: %+v", le)
			}
		}, &res)
		if err != nil {
			t.Fatalf("reading stopped: %v", err)
		}
	})
}
