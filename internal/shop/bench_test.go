package shop_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/search"
	"github.com/kefu-desk/kefu/internal/shop"
)

// benchOrders is the size of the import the target is set for: 100,000
// orders in under 30 s on SQLite.
const benchOrders = 100_000

// BenchmarkImportOrders imports a generated CSV of 100,000 orders (about
// 200,000 lines, 25,000 customers) into a fresh store with the real
// import code, wired as kefu serve wires it (new customers are indexed
// for search). Run it with -benchtime=1x: each iteration is a whole
// import. See docs/benchmarks.md.
func BenchmarkImportOrders(b *testing.B) {
	n := benchOrders
	if s := os.Getenv("KEFU_BENCH_ORDERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	// KEFU_BENCH_CSV keeps the generated file, to time kefu import orders
	// with it by hand.
	path := os.Getenv("KEFU_BENCH_CSV")
	if path == "" {
		path = filepath.Join(b.TempDir(), "orders.csv")
	}
	lines, err := writeOrdersCSV(path, n, cst("2025-05-03 10:00"))
	if err != nil {
		b.Fatal(err)
	}
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			var cpu time.Duration
			for range b.N {
				b.StopTimer()
				e := newEnv(b, databasetest.Open(b, engine))
				e.customers.Hooks = append(e.customers.Hooks, search.New(e.db))
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu0 := databasetest.CPUTime()
				res, err := e.s.ImportOrders(e.ctx, f, shop.ImportOptions{Notify: true})
				cpu += databasetest.CPUTime() - cpu0
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				if res.Created != n || res.Lines != lines {
					b.Fatalf("imported %+v, want %d orders in %d lines", res, n, lines)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "orders/s")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// writeOrdersCSV writes n orders of a clothing shop over the year before
// now: one to three items each from 300 SKUs, a quarter of the customers
// buying often, most orders shipped and delivered, some in two parcels.
// It returns the number of lines after the header.
func writeOrdersCSV(path string, n int, now time.Time) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(7, 9))
	fmt.Fprintln(w, "order_number,ordered_at,status,payment_method,customer_name,customer_email,customer_phone,expected_delivery,shipping_address,"+
		"sku,item_name,quantity,unit_price,carrier,tracking_number,shipment_status,shipped_at,delivered_at")
	customers := max(1, n/4)
	carriers := []string{"顺丰速运", "中通快递", "圆通速递", "京东物流"}
	lines := 0
	step := 365 * 24 * time.Hour / time.Duration(n)
	for i := range n {
		c := rng.IntN(customers)
		at := now.Add(-time.Duration(n-i) * step).In(shanghai)
		items := 1 + rng.IntN(3)
		status, shipped, delivered := "delivered", at.Add(20*time.Hour), at.Add(70*time.Hour)
		switch r := rng.IntN(20); {
		case r == 0:
			status = "paid"
		case r < 3:
			status = "shipped"
		}
		for j := range items {
			sku := rng.IntN(300)
			tracking, carrier, shipStatus, shippedAt, deliveredAt := "", "", "", "", ""
			if status != "paid" {
				parcel := 0
				if items > 1 && i%10 == 0 {
					parcel = j % 2 // a split order
				}
				tracking, carrier = fmt.Sprintf("T%08d%d", i, parcel), carriers[i%len(carriers)]
				shipStatus, shippedAt = "in_transit", shipped.Format("2006-01-02 15:04")
				if status == "delivered" {
					shipStatus, deliveredAt = "delivered", delivered.Add(time.Duration(parcel)*time.Hour).Format("2006-01-02 15:04")
				}
			}
			fmt.Fprintf(w, "SO%08d,%s,%s,alipay,客户%d,c%d@example.cn,+86 139%08d,%s,\"浙江省杭州市西湖区文三路%d号, %d室\",SKU-%03d,商品 %d 号,%d,%d.%02d,%s,%s,%s,%s,%s\n",
				i, at.Format("2006-01-02 15:04"), status, c, c, c, at.Add(96*time.Hour).Format("2006-01-02"), c%500, c%90,
				sku, sku, 1+rng.IntN(2), 49+sku, rng.IntN(100), carrier, tracking, shipStatus, shippedAt, deliveredAt)
			lines++
		}
	}
	return lines, w.Flush()
}
