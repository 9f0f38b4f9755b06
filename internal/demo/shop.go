package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/shop"
)

func intp(n int) *int { return &n }

func yes() *bool { t := true; return &t }

// catalogue is the demo shop's products, drawn from the seeds, whose SKUs
// carry different after-sales terms (seed 002).
var catalogue = []shop.ProductInput{
	{Code: "DRS-001", Name: "真丝连衣裙 Silk dress", Supplier: "杭州丝绸厂", Category: "dresses", Material: "100% 桑蚕丝 mulberry silk",
		SKUs: []shop.SKUInput{
			{Code: "DRS-001-S-RED", Size: "S", Colour: "红 red", Price: "599"},
			{Code: "DRS-001-M-RED", Size: "M", Colour: "红 red", Price: "599", StockStatus: shop.LowStock, StockQuantity: intp(3)},
			{Code: "DRS-001-M-BLK", Size: "M", Colour: "黑 black", Price: "599"},
			{Code: "DRS-001-L-BLK", Size: "L", Colour: "黑 black", Price: "599", StockStatus: shop.OutOfStock, StockQuantity: intp(0)},
		}},
	// Outerwear: a longer exchange window and a year of repairs.
	{Code: "COAT-010", Name: "羊毛大衣 Wool coat", Supplier: "内蒙古羊绒厂", Category: "outerwear", Material: "90% 羊毛 wool, 10% 羊绒 cashmere",
		Terms: shop.Terms{ExchangeDays: intp(30), RepairDays: intp(365)},
		SKUs: []shop.SKUInput{
			{Code: "COAT-010-M-CML", Size: "M", Colour: "驼色 camel", Price: "1299"},
			{Code: "COAT-010-L-GRY", Size: "L", Colour: "灰 grey", Price: "1299"},
		}},
	// Seed 003's lingerie: seven days from receipt, photos for every
	// request, repairs of straps and hooks.
	{Code: "BRA-220", Name: "真丝内衣 Silk bra", Supplier: "广东尚兰德", Category: "lingerie", Material: "桑蚕丝 silk",
		Terms: shop.Terms{RepairDays: intp(180), PhotosFor: &[]shop.Reason{shop.Quality, shop.Damaged, shop.WrongItem, shop.NotAsDescribed, shop.SizeFit, shop.ChangedMind}},
		SKUs: []shop.SKUInput{
			{Code: "BRA-220-75B", Size: "75B", Colour: "肤色 nude", Price: "329"},
			{Code: "BRA-220-80B", Size: "80B", Colour: "肤色 nude", Price: "329"},
		}},
	// A sale colour is final; the regular one is not.
	{Code: "TEE-100", Name: "纯棉T恤 Cotton tee", Supplier: "义乌针织厂", Category: "tops", Material: "100% 棉 cotton",
		SKUs: []shop.SKUInput{
			{Code: "TEE-100-M-WHT", Size: "M", Colour: "白 white", Price: "99"},
			{Code: "TEE-100-L-SALE", Size: "L", Colour: "灰 grey (sale)", Price: "49", Terms: shop.Terms{ReturnDays: intp(0), ExchangeDays: intp(7)}},
		}},
	// Seed 001's skincare: no returns for a change of mind once opened.
	{Code: "MASK-01", Name: "保湿面膜 Hydrating mask (5 pcs)", Supplier: "上海美妆代工厂", Category: "skincare",
		Terms: shop.Terms{NonReturnable: yes(), NonReturnableNote: "拆封后的护肤品 opened skincare", RepairDays: intp(0)},
		SKUs:  []shop.SKUInput{{Code: "MASK-01-5", Price: "129", StockQuantity: intp(240)}}},
	// Made to measure: counted from the order, never returned for fit.
	{Code: "MTM-SUIT", Name: "定制西装 Made-to-measure suit", Supplier: "宁波定制工坊", Category: "tailoring", Material: "羊毛 wool",
		Terms: shop.Terms{CountFrom: string(shop.FromOrder), ReturnDays: intp(15), NonReturnable: yes(), NonReturnableNote: "定制商品 made to measure", RepairDays: intp(365)},
		SKUs:  []shop.SKUInput{{Code: "MTM-SUIT-STD", Name: "量身定制", Price: "3999", StockStatus: shop.Preorder}}},
}

var carriers = []string{"顺丰速运", "中通快递", "圆通速递", "京东物流"}

// ShopResult tells what SeedShop made.
type ShopResult struct {
	Products, Orders int
}

// SeedShop adds seed 000's clothing shop with the catalogue above and an
// order for every demo ticket that names one, placed a few days before
// the ticket was opened (delivered, or still on its way for the tickets
// about logistics, some of them late), plus orders of other demo
// customers. It is for a store Seed has filled. Order notices are off
// while the history is written, so nobody is mailed about it, and on
// afterwards.
func SeedShop(ctx context.Context, s *shop.Service, db *database.DB, now time.Time, seed uint64) (ShopResult, error) {
	ctx = kefu.WithActor(ctx, kefu.System)
	rng := rand.New(rand.NewPCG(seed, seed^0x51ab))
	var res ShopResult
	off := false
	if _, _, err := s.CreateShop(ctx, shop.ShopInput{Code: "tianhe", Name: "天河新盟服饰 Tianhe Xinmeng", Timezone: "Asia/Shanghai", Currency: "CNY",
		Terms: shop.Terms{ReturnDays: intp(7), ExchangeDays: intp(15), RepairDays: intp(90)}, NotifyConfirmation: &off, NotifyDelay: &off}); err != nil {
		return res, fmt.Errorf("demo: shop: %w", err)
	}
	var skus []shop.SKUInput
	for _, p := range catalogue {
		if _, err := s.CreateProduct(ctx, p); err != nil {
			return res, fmt.Errorf("demo: product %s: %w", p.Code, err)
		}
		skus = append(skus, p.SKUs...)
		res.Products++
	}
	rows, err := db.Read.QueryContext(ctx, `SELECT order_number, CAST(customer_id AS text), category, created_at FROM tickets
		WHERE order_number <> '' ORDER BY created_at`)
	if err != nil {
		return res, err
	}
	type wanted struct {
		number, customer, category string
		at                         time.Time
	}
	var orders []wanted
	seen := map[string]bool{}
	for rows.Next() {
		var w wanted
		if err := rows.Scan(&w.number, &w.customer, &w.category, &w.at); err != nil {
			rows.Close()
			return res, err
		}
		if !seen[w.number] {
			seen[w.number] = true
			orders = append(orders, w)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	customers, err := database.Strings(ctx, db.Read, `SELECT CAST(id AS text) FROM customers WHERE merged_into IS NULL ORDER BY id`)
	if err != nil {
		return res, err
	}
	for i := 0; i < len(customers)/2; i++ {
		at := now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))
		orders = append(orders, wanted{number: fmt.Sprintf("SO%d%05d", at.Year(), 90000+i), customer: pick(rng, customers), at: at})
	}
	for _, w := range orders {
		if err := seedOrder(ctx, s, rng, skus, w.number, w.customer, w.category, w.at, now); err != nil {
			return res, fmt.Errorf("demo: order %s: %w", w.number, err)
		}
		res.Orders++
	}
	on := true
	if _, err := s.UpdateShop(ctx, "tianhe", 0, shop.ShopPatch{NotifyConfirmation: &on, NotifyDelay: &on}); err != nil {
		return res, err
	}
	return res, nil
}

// seedOrder places an order a few days before at: delivered unless the
// ticket opened at at is about logistics, in which case it is still in
// transit and, one time in two, already late.
func seedOrder(ctx context.Context, s *shop.Service, rng *rand.Rand, skus []shop.SKUInput, number, customerID, category string, at, now time.Time) error {
	ordered := at.Add(-time.Duration(24+rng.IntN(6*24)) * time.Hour).Truncate(time.Minute)
	in := shop.OrderInput{Number: number, Customer: shop.CustomerRef{ID: customerID}, OrderedAt: ordered, Status: shop.Delivered,
		PaymentMethod: pick(rng, []string{"alipay", "wechat_pay", "unionpay"}), ShippingAddress: pick(rng, addresses),
		ExpectedDelivery: ordered.Add(72 * time.Hour).Format(time.DateOnly)}
	for range 1 + rng.IntN(3) {
		k := pick(rng, skus)
		in.Items = append(in.Items, shop.ItemInput{SKU: k.Code, Quantity: 1 + rng.IntN(2), UnitPrice: k.Price})
	}
	shipped := ordered.Add(time.Duration(4+rng.IntN(20)) * time.Hour)
	tracking := fmt.Sprintf("SF%d%04d", ordered.Unix()%1_000_000_000, rng.IntN(10000))
	sp := shop.ShipmentInput{Carrier: pick(rng, carriers), TrackingNumber: tracking, ShippedAt: &shipped,
		Events: []shop.TrackingEvent{{At: shipped, Status: "picked_up", Description: "快件已揽收", Location: "乌鲁木齐"}}}
	transit := shipped.Add(time.Duration(10+rng.IntN(20)) * time.Hour)
	if transit.Before(now) {
		sp.Events = append(sp.Events, shop.TrackingEvent{At: transit, Status: "in_transit", Description: "运输中，到达转运中心", Location: "西安转运中心"})
	}
	delivered := shipped.Add(time.Duration(40+rng.IntN(40)) * time.Hour)
	switch {
	case category == "logistics" || delivered.After(now):
		in.Status = shop.Shipped
		if rng.IntN(2) == 0 {
			in.ExpectedDelivery = now.Add(-24 * time.Hour).Format(time.DateOnly) // late: the panel says so
		} else {
			in.ExpectedDelivery = now.Add(48 * time.Hour).Format(time.DateOnly)
		}
	default:
		sp.DeliveredAt = &delivered
		sp.Events = append(sp.Events, shop.TrackingEvent{At: delivered, Status: "delivered", Description: "已签收，本人签收", Location: "上海"})
	}
	in.Shipments = []shop.ShipmentInput{sp}
	_, err := s.CreateOrder(ctx, in)
	return err
}

var addresses = []string{"上海市浦东新区张江路88号", "北京市朝阳区建国路93号", "广州市天河区天河路385号", "新疆塔城市民主街12号",
	"杭州市西湖区文三路478号", "1 Harbour Rd, Wan Chai, Hong Kong"}
